#include "controllers/poll_schedule.h"

#include <algorithm>
#include <cstdint>

#include "util/hash.h"

namespace lagpilot::controllers {

namespace {

using std::chrono::milliseconds;

}  // namespace

Duration poll_phase(std::string_view key, Duration interval) {
  const auto interval_ms = std::chrono::duration_cast<milliseconds>(interval).count();
  if (interval_ms <= 0) return Duration::zero();
  return milliseconds(
      static_cast<std::int64_t>(fnv1a64(key) % static_cast<std::uint64_t>(interval_ms)));
}

Duration min_poll_gap(Duration interval) {
  return std::min<Duration>(interval / 10, std::chrono::seconds(1));
}

Duration next_poll_delay(std::string_view key, Duration interval, WallTime now) {
  if (interval <= Duration::zero()) return Duration::zero();
  const Duration gap = min_poll_gap(interval);
  // From now + gap to the first slot at or after it.
  Duration wait = (poll_phase(key, interval) - (now.time_since_epoch() + gap)) % interval;
  if (wait < Duration::zero()) wait += interval;
  return gap + wait;
}

}  // namespace lagpilot::controllers
