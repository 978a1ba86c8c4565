// The host's clock (millis, micros, delay over CLOCK_MONOTONIC) and its idle
// time: between two loop() calls and during delay() the serial port is
// served and state requests on stdin are answered (host_runtime.h).
#include "host_runtime.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "Arduino.h"

namespace {

uint64_t monotonic_us() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

/// When the program started; fixed by the first call (the library's global
/// constructors already read the clock).
uint64_t start_us() {
  static const uint64_t start = monotonic_us();
  return start;
}

void (*state_writer)(FILE*) = nullptr;

/// Answers every request waiting on stdin; ends the program at its end.
void answer_state_requests() {
  char buffer[256];
  const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
  if (n == 0) exit(0);
  if (n < 0) return;
  for (ssize_t i = 0; i < n; ++i) {
    if (buffer[i] != '\n') continue;
    state_writer(stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
}

}  // namespace

unsigned long micros() { return static_cast<unsigned long>(monotonic_us() - start_us()); }

unsigned long millis() { return micros() / 1000u; }

void delay(unsigned long ms) { host::idle_until(micros() + ms * 1000u); }

void delayMicroseconds(unsigned int us) {
  // A busy wait on a board; a short sleep here.
  const timespec wait = {static_cast<time_t>(us / 1000000u), static_cast<long>(us % 1000000u) * 1000};
  nanosleep(&wait, nullptr);
}

namespace host {

void serve_state_requests(void (*write_state)(FILE*)) {
  state_writer = write_state;
  // A test reading the state may be gone before it reads the answer.
  signal(SIGPIPE, SIG_IGN);
}

void idle_until(unsigned long deadline) {
  for (;;) {
    pump_serial();
    const long left = static_cast<long>(deadline - micros());
    pollfd request = {STDIN_FILENO, POLLIN, 0};
    const timespec timeout = {left > 0 ? left / 1000000 : 0, left > 0 ? (left % 1000000) * 1000 : 0};
    const int ready = ppoll(&request, state_writer ? 1 : 0, &timeout, nullptr);
    if (ready > 0 && (request.revents & (POLLIN | POLLHUP)) != 0) answer_state_requests();
    if (ready < 0 && errno != EINTR) return;
    if (static_cast<long>(deadline - micros()) <= 0) return;
  }
}

}  // namespace host
