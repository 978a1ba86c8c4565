// The part of the Arduino core that SimpleFOC's Commander, FOCMotor and
// BLDCMotor use, for a Linux host: integer types, the clock (millis, micros,
// delay over CLOCK_MONOTONIC), F() strings, Print and Stream with Arduino's
// number formatting, and `Serial`, which is the master side of a
// pseudo-terminal (host_serial.cpp). Nothing here is SimpleFOC-specific; the
// simulated driver and sensor live in sim_hardware.h.
//
// Behaviour kept from the Arduino API because the library's output depends
// on it: println ends lines in "\r\n"; print(char) prints the character and
// print(unsigned char) its number; a float prints with a fixed count of
// decimals (2 unless told), rounded half up, "nan", "inf" and "ovf" for the
// values that do not fit an unsigned long.
#ifndef MOTIONTUNE_HOST_ARDUINO_H
#define MOTIONTUNE_HOST_ARDUINO_H

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
// In C++ these bring the float overloads of abs() into the global
// namespace, which the library relies on (Sensor::update, angleOpenloop).
#include <stdlib.h>
#include <string.h>

typedef bool boolean;
typedef uint8_t byte;

#define DEC 10
#define HEX 16
#define OCT 8
#define BIN 2

// --- time ------------------------------------------------------------------

/// Milliseconds since the program started.
unsigned long millis();
/// Microseconds since the program started.
unsigned long micros();
/// Waits `ms` milliseconds of wall time (the serial port is still served,
/// as a board's UART drains its buffer while the sketch waits).
void delay(unsigned long ms);
void delayMicroseconds(unsigned int us);

// --- helpers the library calls -------------------------------------------

inline bool isDigit(int c) { return isdigit(c) != 0; }

template <typename A, typename B>
inline auto min(const A& a, const B& b) -> decltype(a < b ? a : b) {
  return b < a ? b : a;
}
template <typename A, typename B>
inline auto max(const A& a, const B& b) -> decltype(a < b ? a : b) {
  return a < b ? b : a;
}

// --- strings ----------------------------------------------------------------

/// A string literal kept in flash on AVR; plain memory here.
class __FlashStringHelper;
#define F(literal) (reinterpret_cast<const __FlashStringHelper*>(literal))

/// Arduino's `String + String` result type. SimpleFOCDebug declares
/// print(StringSumHelper) overloads; nothing here builds one, so it only
/// has to exist with c_str().
class StringSumHelper {
 public:
  explicit StringSumHelper(const char* text) : text_(text) {}
  const char* c_str() const { return text_; }

 private:
  const char* text_;
};

// --- Print and Stream ---------------------------------------------------------

class Print {
 public:
  virtual ~Print() = default;

  virtual size_t write(uint8_t byte) = 0;
  virtual size_t write(const uint8_t* bytes, size_t count);
  size_t write(const char* text);

  size_t print(const __FlashStringHelper* text);
  size_t print(const char* text);
  size_t print(char c);
  size_t print(unsigned char number, int base = DEC);
  size_t print(int number, int base = DEC);
  size_t print(unsigned int number, int base = DEC);
  size_t print(long number, int base = DEC);
  size_t print(unsigned long number, int base = DEC);
  size_t print(double number, int digits = 2);

  size_t println();
  size_t println(const __FlashStringHelper* text);
  size_t println(const char* text);
  size_t println(char c);
  size_t println(unsigned char number, int base = DEC);
  size_t println(int number, int base = DEC);
  size_t println(unsigned int number, int base = DEC);
  size_t println(long number, int base = DEC);
  size_t println(unsigned long number, int base = DEC);
  size_t println(double number, int digits = 2);

 private:
  size_t printUnsigned(unsigned long number, int base);
  size_t printFloat(double number, int digits);
};

class Stream : public Print {
 public:
  virtual int available() = 0;
  /// The next byte, or -1 when none is waiting.
  virtual int read() = 0;
  virtual int peek() = 0;
};

/// The board's serial port: the master side of a pseudo-terminal whose
/// slave path a host program (sketch.cpp) prints for its client.
class HostSerial : public Stream {
 public:
  void begin(unsigned long baud);
  int available() override;
  int read() override;
  int peek() override;
  size_t write(uint8_t byte) override;
  size_t write(const uint8_t* bytes, size_t count) override;
  using Print::write;
  /// Waits until everything printed so far has been handed to the pty (or
  /// dropped, see host_serial.cpp).
  void flush();
  explicit operator bool() const { return true; }
};

extern HostSerial Serial;

#endif
