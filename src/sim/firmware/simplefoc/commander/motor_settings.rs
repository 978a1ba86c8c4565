//! The motor's hardware settings as `Commander::motor` reads and writes
//! them (Commander.cpp:185-322): PWM modulation `W`, phase resistance `R`,
//! inductances `I`, KV `K`, sensor offsets `S`, and the FOC routines `F`
//! (sensor alignment again, motor measurement, current loop tuning, which
//! need current sensing this sketch has not).

use super::{Commander, Follow, MODULATION_NAMES, arduino_float};
use crate::sim::firmware::simplefoc::motor::{Motor, NOT_SET, is_set};

impl Commander {
    /// `W`, `R`, `I`, `K`, `S` or `F` (`first`), sub-command `sub`.
    pub(super) fn motor_settings(
        &self,
        first: u8,
        sub: u8,
        get: bool,
        value: f32,
        motor: &mut Motor,
        out: &mut Vec<u8>,
    ) -> Follow {
        match first {
            b'W' => {
                self.verbose_text(out, "PWM Mod | ");
                match sub {
                    b'T' => {
                        self.verbose_text(out, "type: ");
                        if !get {
                            motor.foc_modulation = value as u8;
                        }
                        if let Some(name) = MODULATION_NAMES.get(usize::from(motor.foc_modulation))
                        {
                            self.println(out, name);
                        }
                    }
                    b'C' => {
                        self.verbose_text(out, "center: ");
                        if !get {
                            motor.modulation_centered = value as i8;
                        }
                        self.println_int(out, i64::from(motor.modulation_centered));
                    }
                    _ => self.error(out),
                }
            }
            b'R' => {
                self.verbose_text(out, "R phase: ");
                if !get {
                    motor.phase_resistance = value;
                }
                self.println_set_or_zero(out, motor.phase_resistance);
            }
            b'I' => {
                self.verbose_text(out, "L phase: ");
                match sub {
                    b'D' => {
                        self.verbose_text(out, "d: ");
                        if !get {
                            motor.axis_inductance_d = value;
                            motor.phase_inductance = value;
                        }
                        self.println_set_or_zero(out, motor.axis_inductance_d);
                    }
                    b'Q' => {
                        self.verbose_text(out, "q: ");
                        if !get {
                            motor.axis_inductance_q = value;
                        }
                        self.println_set_or_zero(out, motor.axis_inductance_q);
                    }
                    _ => {
                        if !get {
                            motor.phase_inductance = value;
                            motor.axis_inductance_d = value;
                            motor.axis_inductance_q = value;
                        }
                        self.println_set_or_zero(out, motor.phase_inductance);
                    }
                }
            }
            b'K' => {
                self.verbose_text(out, "Motor KV: ");
                if !get {
                    motor.kv_rating = value;
                }
                self.println_set_or_zero(out, motor.kv_rating);
            }
            b'S' => {
                self.verbose_text(out, "Sensor | ");
                match sub {
                    b'M' => {
                        self.verbose_text(out, "offset: ");
                        if !get {
                            motor.sensor_offset = value;
                        }
                        self.println_float(out, motor.sensor_offset);
                    }
                    b'E' => {
                        self.verbose_text(out, "el. offset: ");
                        if !get {
                            motor.zero_electric_angle = value;
                        }
                        self.println_float(out, motor.zero_electric_angle);
                    }
                    _ => self.error(out),
                }
            }
            b'F' => {
                self.verbose_text(out, "MOT | ");
                match sub {
                    b'R' => {
                        self.verbose_text(out, "Reinit!");
                        motor.zero_electric_angle = NOT_SET;
                        motor.target = 0.0;
                        return Follow::Reinit;
                    }
                    b'P' => {
                        self.verbose_text(out, "Meas motor params!");
                        // characteriseMotor() needs current sensing
                        // (FOCMotor.cpp:96-100): error code 1.
                        out.extend_from_slice(b"ERR-MOT:Fail. CS not init.\r\n");
                        self.verbose_text(out, "failed, err code: ");
                        self.println_int(out, 1);
                    }
                    b'C' => {
                        self.verbose_text(out, "PI tune curr.| ");
                        // tuneCurrentController() (FOCMotor.cpp:538-552).
                        let loop_hz = self.loop_hz as f32;
                        let code = if value <= 0.0 {
                            out.extend_from_slice(b"ERR-MOT:Fail. BW <= 0\r\n");
                            1
                        } else if value > 0.5 * loop_hz {
                            let text = format!(
                                "ERR-MOT:Fail. BW too high, current loop freq:{}\r\n",
                                arduino_float(loop_hz, 2)
                            );
                            out.extend_from_slice(text.as_bytes());
                            2
                        } else {
                            // Motor parameters missing: it tries to
                            // measure them, which needs current sensing.
                            out.extend_from_slice(b"WARN-MOT:Motor params missing!\r\n");
                            out.extend_from_slice(b"ERR-MOT:Fail. CS not init.\r\n");
                            3
                        };
                        self.verbose_text(out, "failed, err code: ");
                        self.println_int(out, code);
                    }
                    _ => self.error(out),
                }
            }
            _ => {}
        }
        Follow::Nothing
    }

    /// `println(x)` when set, else `println(0)` (an int): R, L, KV.
    fn println_set_or_zero(&self, out: &mut Vec<u8>, value: f32) {
        if is_set(value) {
            self.println_float(out, value);
        } else {
            self.println_int(out, 0);
        }
    }
}
