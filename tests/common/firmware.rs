//! Builds of the C device kit for the tests: the compiler runs that fail on
//! any diagnostic, the kit's Arduino example compiled for an Uno against
//! the stock AVR core, and the simavr host that runs that ELF on a
//! simulated ATmega328P (`assets/firmware/host/simavr_uno.c`). Each build
//! happens once per test binary.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

pub const FIRMWARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/firmware");
pub const LIBRARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/motiontune_device.c"
);
/// Debian's arduino-core-avr package: the stock Arduino AVR core, which
/// .ci/run installs with gcc-avr and avr-libc.
pub const AVR_CORE: &str = "/usr/share/arduino/hardware/arduino/avr";
const SKETCH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/arduino/motiontune_servo/motiontune_servo.ino"
);
const SIMAVR_HOST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/host/simavr_uno.c"
);

/// Every build of the kit: C99 and no warning, so it drops into any project.
pub const STRICT: &[&str] = &[
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wconversion",
    "-Wshadow",
    "-Werror",
];
/// The Uno's flags from the core's boards.txt and platform.txt.
const UNO: &[&str] = &[
    "-mmcu=atmega328p",
    "-DF_CPU=16000000L",
    "-DARDUINO=10807",
    "-DARDUINO_AVR_UNO",
    "-DARDUINO_ARCH_AVR",
    "-Os",
    "-ffunction-sections",
    "-fdata-sections",
    "-flto",
];

/// A directory of this test binary's builds.
pub fn build_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("build directory");
    dir
}

/// Runs a compiler or linker, failing on any diagnostic.
pub fn build(mut command: Process, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run the compiler for {what}: {e}"));
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{what}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The kit's Arduino example linked for an Uno: the core as the IDE builds
/// it, the library as strict C99 and the sketch the way the IDE compiles a
/// .ino, warnings as errors for both.
pub fn uno_sketch() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_uno_sketch)
}

fn build_uno_sketch() -> PathBuf {
    let core = Path::new(AVR_CORE);
    assert!(
        core.is_dir(),
        "no Arduino AVR core in {AVR_CORE}: install gcc-avr avr-libc arduino-core-avr (.ci/run does)"
    );
    let out = build_dir("uno");
    let include = |command: &mut Process| {
        for dir in ["cores/arduino", "variants/standard", "libraries/EEPROM/src"] {
            command.arg("-I").arg(core.join(dir));
        }
        command.arg("-I").arg(FIRMWARE);
    };
    let mut objects = Vec::new();
    let mut compile_into = |compiler: &str, flags: &[&str], source: &Path| {
        let object = out.join(format!("{}.o", objects.len()));
        let mut command = Process::new(compiler);
        command.arg("-c").args(UNO).args(flags);
        include(&mut command);
        command.arg(source).arg("-o").arg(&object);
        build(command, &source.display().to_string());
        objects.push(object);
    };

    // The core, warnings off: they are not ours. Debian pairs core 1.8.7
    // with avr-gcc 5.4, whose float.h gives DECIMAL_DIG (used by
    // WString.cpp) to C99 only; pass the compiler's own value.
    let mut core_sources: Vec<PathBuf> = std::fs::read_dir(core.join("cores/arduino"))
        .expect("core sources")
        .map(|entry| entry.expect("core source").path())
        .collect();
    core_sources.sort();
    for source in &core_sources {
        match source.extension().and_then(|e| e.to_str()) {
            Some("c") => compile_into("avr-gcc", &["-std=gnu11", "-w"], source),
            Some("cpp") => compile_into(
                "avr-g++",
                &[
                    "-std=gnu++11",
                    "-fpermissive",
                    "-fno-exceptions",
                    "-fno-threadsafe-statics",
                    "-DDECIMAL_DIG=__DECIMAL_DIG__",
                    "-w",
                ],
                source,
            ),
            Some("S") => compile_into("avr-gcc", &["-x", "assembler-with-cpp"], source),
            _ => {}
        }
    }
    compile_into("avr-gcc", STRICT, Path::new(LIBRARY));
    compile_into(
        "avr-g++",
        &[
            "-std=gnu++11",
            "-fno-exceptions",
            "-fno-threadsafe-statics",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-x",
            "c++",
            "-include",
            "Arduino.h",
        ],
        Path::new(SKETCH),
    );

    let elf = out.join("motiontune_servo.elf");
    let mut link = Process::new("avr-gcc");
    link.args(["-mmcu=atmega328p", "-Os", "-flto", "-fuse-linker-plugin"])
        .arg("-Wl,--gc-sections")
        .args(&objects)
        .arg("-lm")
        .arg("-o")
        .arg(&elf);
    build(link, "linking the sketch");
    elf
}

/// The simavr host program, built against Debian's simavr 1.6.
pub fn simavr_uno() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        assert!(
            Path::new("/usr/include/simavr/sim_avr.h").is_file(),
            "no simavr headers: install simavr libsimavr-dev libsimavrparts1 (.ci/run does)"
        );
        let program = build_dir("simavr").join("simavr_uno");
        let mut cc = Process::new("cc");
        cc.args(["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"])
            .args(["-I", "/usr/include/simavr"])
            .arg(SIMAVR_HOST)
            .args(["-lsimavr", "-lsimavrparts", "-lpthread", "-lutil", "-lm"])
            .arg("-o")
            .arg(&program);
        build(cc, "simavr_uno");
        program
    })
}
