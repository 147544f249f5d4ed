#pragma once
// Tunables for Redis Streams sources, set once by the operator when it builds the kind.
#include <chrono>
#include <cstdint>

#include "util/clock.h"

namespace lagpilot {

struct RedisOptions {
  // Upper bound on one poll: connecting, authenticating and every round trip of the poll share it.
  Duration poll_timeout = std::chrono::seconds(5);
  // When Redis reports no lag for a group (a group created at `$` that has not read since new
  // entries came, or XDEL of an entry it has not read yet), the undelivered entries are counted
  // with XRANGE, reading at most this many entries forward from the group's last-delivered-id (and,
  // past that, at most this many from the stream's start up to it). More on both sides: the poll
  // fails with "LagUnknown" rather than report a made-up number.
  int64_t lag_count_limit = 10'000;
};

}  // namespace lagpilot
