#pragma once
// Good/bad time per fixed-width time bucket, the storage behind SLOs, and its compact text form.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lagpilot::alerts {

// Time that was measured (known) and, of that, bad; good = known - bad. Milliseconds.
struct TimeTally {
  std::int64_t known_ms = 0;
  std::int64_t bad_ms = 0;

  TimeTally& operator+=(const TimeTally& other) {
    known_ms += other.known_ms;
    bad_ms += other.bad_ms;
    return *this;
  }
  bool operator==(const TimeTally&) const = default;
};

// A pro-rated sum over buckets.
struct TimeSum {
  double known_ms = 0;
  double bad_ms = 0;
};

// Consecutive buckets [start, start + width) aligned to multiples of width since the Unix epoch,
// covering at most `retention` before the end of the newest bucket. Missing buckets are zeros
// (time that was not measured).
class BucketSeries {
 public:
  BucketSeries(std::int64_t width_ms, std::int64_t retention_ms);

  // Adds to the bucket that starts at `start_ms` (a multiple of width). Adding to a bucket older
  // than the oldest kept one is ignored; a bucket past the newest extends the series (zeros in
  // between) and drops buckets that fall out of retention.
  void add(std::int64_t start_ms, TimeTally tally);
  // Buckets overlapping [from_ms, +inf): a bucket that starts before from_ms counts in proportion
  // to the part of its width after from_ms (time inside a bucket is assumed evenly spread).
  TimeSum sum_since(std::int64_t from_ms) const;

  std::int64_t width_ms() const { return width_ms_; }
  std::int64_t retention_ms() const { return retention_ms_; }
  bool empty() const { return tallies_.empty(); }
  std::int64_t first_start_ms() const { return first_start_ms_; }
  const std::deque<TimeTally>& tallies() const { return tallies_; }
  // Replaces the content (restore). Keeps at most the retention.
  void assign(std::int64_t first_start_ms, std::deque<TimeTally> tallies);

 private:
  std::int64_t width_ms_;
  std::int64_t retention_ms_;
  std::int64_t first_start_ms_ = 0;
  std::deque<TimeTally> tallies_;
};

// Bucket lists as text: per bucket its known and bad seconds (rounded), each as `digits`
// base64url characters (big-endian), a run of equal buckets written once followed by '*' and the
// number of further repeats in two base64url characters. One full-width bucket of all-good time
// repeated for a day is e.g. "8A*Wf" with 1-minute buckets.
std::string encode_tallies(const std::deque<TimeTally>& tallies, int digits);
// Inverse of encode_tallies, in whole seconds (ms = s * 1000). Errors name what is malformed.
// Each bucket's known must be <= max_known_seconds and bad <= known; at most max_buckets buckets.
Result<std::deque<TimeTally>> decode_tallies(std::string_view text, int digits,
                                             std::int64_t max_known_seconds,
                                             std::size_t max_buckets);

// Floor division for times before or after the epoch.
std::int64_t floor_to_multiple(std::int64_t value, std::int64_t step);

}  // namespace lagpilot::alerts
