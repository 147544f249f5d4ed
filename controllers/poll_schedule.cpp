#include "controllers/poll_schedule.h"

#include <algorithm>
#include <cstdint>

namespace lagpilot::controllers {

namespace {

using std::chrono::milliseconds;

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

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
  const Duration earliest = now.time_since_epoch() + min_poll_gap(interval);
  const Duration phase = poll_phase(key, interval);
  // The first slot at or after `earliest`.
  Duration since_phase = earliest - phase;
  Duration into_interval = since_phase % interval;
  if (into_interval < Duration::zero()) into_interval += interval;
  Duration slot =
      earliest + (into_interval == Duration::zero() ? Duration::zero() : interval - into_interval);
  return slot - now.time_since_epoch();
}

}  // namespace lagpilot::controllers
