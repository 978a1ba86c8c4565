// What the host program adds around an Arduino sketch: the pseudo-terminal
// behind `Serial`, waiting between loop() calls while the port is served,
// and answering state requests on stdin (see serve_state_requests).
#ifndef MOTIONTUNE_HOST_RUNTIME_H
#define MOTIONTUNE_HOST_RUNTIME_H

#include <stdint.h>
#include <stdio.h>

#include <deque>
#include <string>

namespace host {

/// Opens the pseudo-terminal behind `Serial` (raw mode, the slave held
/// open so the port survives clients coming and going) and returns the
/// slave's path, the one a client opens. Exits the program on failure.
const char* open_serial();

/// Hands what the sketch printed to the pty and never blocks: a client that
/// does not read fills the pty, then up to 64 KiB waits here, then further
/// output is dropped and counted, as a board's transmit buffer overflows.
void pump_serial();

/// What went through `Serial`.
struct SerialCounters {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t bytes_dropped = 0;
  /// Line ends ('\n' or '\r') the sketch read: each one makes the
  /// Commander run the line before it (Commander::run(Stream&)).
  uint64_t lines = 0;
  /// Time the sketch's writes waited for the emulated UART, µs.
  uint64_t blocked_us = 0;
};
SerialCounters serial_counters();

/// Emulates a UART of `baud` behind `Serial` (0: none, the default).
void set_line_baud(unsigned long baud);

/// The last lines the sketch read from `Serial`, oldest first, each with
/// the byte that ended it (at most 256 kept).
const std::deque<std::string>& lines_read();

/// Turns on state requests: from now on every '\n' on stdin makes the
/// program call `write_state(stdout)` between two loop() calls (or during a
/// delay()), then flush. End of stdin ends the program, so a test that
/// dies takes its device with it.
void serve_state_requests(void (*write_state)(FILE* out));

/// Serves the port and state requests until micros() reaches `deadline`;
/// always serves them once, even when the deadline has passed.
void idle_until(unsigned long deadline);

}  // namespace host

#endif
