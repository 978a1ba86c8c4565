// `Serial` on a Linux host: the master side of a pseudo-terminal. The
// sketch's output is buffered and handed to the pty by host::pump_serial();
// its input is read from the pty when the sketch asks for it, and every
// line it reads is logged for the state line (host_runtime.h). With a line
// speed set (host::set_line_baud), a write waits, as on a board, while the
// UART's 64-byte transmit FIFO is full: bytes leave it at baud/10 a second.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "Arduino.h"
#include "host_runtime.h"

HostSerial Serial;

namespace {

/// Output waiting for room in the pty; past this, output is dropped.
constexpr size_t kTransmitBuffer = 64 * 1024;
/// Lines kept for the state line.
constexpr size_t kLinesKept = 256;

int master_fd = -1;
// Held open for the life of the program: with no slave open, reads on the
// master fail (EIO) between clients.
int slave_fd = -1;
char slave_path[128];

std::string transmit;
uint8_t received[256];
size_t received_count = 0;
size_t received_at = 0;

host::SerialCounters counters;

/// The emulated UART: 0 for no speed limit (a pty, USB CDC).
unsigned long line_baud = 0;
/// Bytes the UART holds before a write has to wait (Arduino's
/// SERIAL_TX_BUFFER_SIZE).
constexpr double kUartFifo = 64;
/// When the UART will have sent everything written so far, µs.
double uart_free_us = 0;
/// Time writes spent waiting for room, µs.
double blocked_us = 0;

/// Waits, as HardwareSerial::write does, until the FIFO has room for a
/// byte, and accounts for the byte's time on the line.
void take_uart_time() {
  if (line_baud == 0) return;
  const double byte_us = 10e6 / static_cast<double>(line_baud);
  double now = static_cast<double>(micros());
  if (uart_free_us < now) uart_free_us = now;
  const double room_at = uart_free_us - (kUartFifo - 1) * byte_us;
  if (room_at > now) {
    host::idle_until(static_cast<unsigned long>(room_at));
    blocked_us += static_cast<double>(micros()) - now;
  }
  uart_free_us += byte_us;
}
std::string line;
std::deque<std::string> lines;

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "simplefoc host: %s: %s\n", what, strerror(errno));
  exit(1);
}

/// Reads what the pty holds, without waiting, once the last read is used.
void fill() {
  if (received_at < received_count || master_fd < 0) return;
  const ssize_t n = ::read(master_fd, received, sizeof received);
  received_at = 0;
  received_count = n > 0 ? static_cast<size_t>(n) : 0;
  counters.bytes_in += received_count;
}

}  // namespace

namespace host {

const char* open_serial() {
  master_fd = posix_openpt(O_RDWR | O_NOCTTY);
  if (master_fd < 0) fail("posix_openpt");
  if (grantpt(master_fd) != 0) fail("grantpt");
  if (unlockpt(master_fd) != 0) fail("unlockpt");
  if (ptsname_r(master_fd, slave_path, sizeof slave_path) != 0) fail("ptsname_r");
  slave_fd = ::open(slave_path, O_RDWR | O_NOCTTY);
  if (slave_fd < 0) fail("open the pty slave");
  // Raw from the start: no echo of what the client writes, no newline
  // translation, before any client sets the port up itself.
  termios settings;
  if (tcgetattr(slave_fd, &settings) != 0) fail("tcgetattr");
  cfmakeraw(&settings);
  if (tcsetattr(slave_fd, TCSANOW, &settings) != 0) fail("tcsetattr");
  const int flags = fcntl(master_fd, F_GETFL);
  if (flags < 0 || fcntl(master_fd, F_SETFL, flags | O_NONBLOCK) != 0) fail("O_NONBLOCK");
  return slave_path;
}

void pump_serial() {
  if (transmit.empty() || master_fd < 0) return;
  const ssize_t n = ::write(master_fd, transmit.data(), transmit.size());
  if (n > 0) {
    counters.bytes_out += static_cast<uint64_t>(n);
    transmit.erase(0, static_cast<size_t>(n));
  }
}

SerialCounters serial_counters() {
  SerialCounters now = counters;
  now.blocked_us = static_cast<uint64_t>(blocked_us);
  return now;
}

void set_line_baud(unsigned long baud) { line_baud = baud; }

const std::deque<std::string>& lines_read() { return lines; }

}  // namespace host

void HostSerial::begin(unsigned long) {}

int HostSerial::available() {
  fill();
  return static_cast<int>(received_count - received_at);
}

int HostSerial::peek() { return available() > 0 ? received[received_at] : -1; }

int HostSerial::read() {
  if (available() <= 0) return -1;
  const uint8_t byte = received[received_at++];
  line.push_back(static_cast<char>(byte));
  if (byte == '\n' || byte == '\r') {
    ++counters.lines;
    lines.push_back(line);
    if (lines.size() > kLinesKept) lines.pop_front();
    line.clear();
  }
  return byte;
}

size_t HostSerial::write(uint8_t byte) {
  take_uart_time();
  if (transmit.size() >= kTransmitBuffer) host::pump_serial();
  if (transmit.size() >= kTransmitBuffer) {
    ++counters.bytes_dropped;
    return 0;
  }
  transmit.push_back(static_cast<char>(byte));
  return 1;
}

size_t HostSerial::write(const uint8_t* bytes, size_t count) {
  size_t written = 0;
  for (size_t i = 0; i < count; ++i) written += write(bytes[i]);
  return written;
}

void HostSerial::flush() { host::pump_serial(); }
