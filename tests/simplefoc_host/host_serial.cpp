// `Serial` on a Linux host: the master side of a pseudo-terminal. The
// sketch's output is buffered and handed to the pty by host::pump_serial();
// its input is read from the pty when the sketch asks for it, and every
// line it reads is logged for the state line (host_runtime.h).
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

SerialCounters serial_counters() { return counters; }

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
