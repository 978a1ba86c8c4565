// Print: Arduino's text output over any byte sink (Arduino.h states the
// formatting rules kept). Written for this host shim from the Arduino API's
// documented behaviour.
#include "Arduino.h"

size_t Print::write(const uint8_t* bytes, size_t count) {
  size_t written = 0;
  for (size_t i = 0; i < count; ++i) written += write(bytes[i]);
  return written;
}

size_t Print::write(const char* text) {
  if (text == nullptr) return 0;
  return write(reinterpret_cast<const uint8_t*>(text), strlen(text));
}

size_t Print::print(const __FlashStringHelper* text) {
  return write(reinterpret_cast<const char*>(text));
}
size_t Print::print(const char* text) { return write(text); }
size_t Print::print(char c) { return write(static_cast<uint8_t>(c)); }
size_t Print::print(unsigned char number, int base) {
  return print(static_cast<unsigned long>(number), base);
}
size_t Print::print(int number, int base) {
  return print(static_cast<long>(number), base);
}
size_t Print::print(unsigned int number, int base) {
  return print(static_cast<unsigned long>(number), base);
}

size_t Print::print(long number, int base) {
  // Base 0 writes the number as a raw byte, as Arduino does.
  if (base == 0) return write(static_cast<uint8_t>(number));
  if (base == 10 && number < 0) {
    size_t n = print('-');
    // Negate in unsigned arithmetic so LONG_MIN prints correctly.
    return n + printUnsigned(0UL - static_cast<unsigned long>(number), 10);
  }
  return printUnsigned(static_cast<unsigned long>(number), base);
}

size_t Print::print(unsigned long number, int base) {
  if (base == 0) return write(static_cast<uint8_t>(number));
  return printUnsigned(number, base);
}

size_t Print::print(double number, int digits) { return printFloat(number, digits); }

size_t Print::println() { return write("\r\n"); }
size_t Print::println(const __FlashStringHelper* text) { return print(text) + println(); }
size_t Print::println(const char* text) { return print(text) + println(); }
size_t Print::println(char c) { return print(c) + println(); }
size_t Print::println(unsigned char number, int base) { return print(number, base) + println(); }
size_t Print::println(int number, int base) { return print(number, base) + println(); }
size_t Print::println(unsigned int number, int base) { return print(number, base) + println(); }
size_t Print::println(long number, int base) { return print(number, base) + println(); }
size_t Print::println(unsigned long number, int base) { return print(number, base) + println(); }
size_t Print::println(double number, int digits) { return print(number, digits) + println(); }

size_t Print::printUnsigned(unsigned long number, int base) {
  if (base < 2) base = 10;
  char reversed[8 * sizeof(unsigned long)];
  size_t count = 0;
  do {
    const unsigned digit = static_cast<unsigned>(number % static_cast<unsigned long>(base));
    reversed[count++] = static_cast<char>(digit < 10 ? '0' + digit : 'A' + digit - 10);
    number /= static_cast<unsigned long>(base);
  } while (number > 0);
  size_t written = 0;
  while (count > 0) written += write(static_cast<uint8_t>(reversed[--count]));
  return written;
}

size_t Print::printFloat(double number, int digits) {
  // The cores SimpleFOC runs on take the count of decimals as a byte.
  const uint8_t places = static_cast<uint8_t>(digits);
  if (isnan(number)) return print("nan");
  if (isinf(number)) return print("inf");
  // Past what an unsigned long of 32 bits holds once rounded.
  if (number > 4294967040.0 || number < -4294967040.0) return print("ovf");

  size_t written = 0;
  if (number < 0.0) {
    written += print('-');
    number = -number;
  }
  // Half a unit in the last printed place, so 1.9996 with 3 places is 2.000.
  double half_unit = 0.5;
  for (uint8_t i = 0; i < places; ++i) half_unit /= 10.0;
  number += half_unit;

  const unsigned long whole = static_cast<unsigned long>(number);
  double fraction = number - static_cast<double>(whole);
  written += print(whole);
  if (places > 0) written += print('.');
  for (uint8_t i = 0; i < places; ++i) {
    fraction *= 10.0;
    const unsigned digit = static_cast<unsigned>(fraction);
    written += print(digit);
    fraction -= digit;
  }
  return written;
}
