#include "alerts/slo_buckets.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::alerts {
namespace {

constexpr std::string_view kDigits =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int kRepeatDigits = 2;
constexpr std::int64_t kMaxRepeat = 64 * 64 - 1;

void append_number(std::string& out, std::int64_t value, int digits) {
  for (int position = digits - 1; position >= 0; --position) {
    std::int64_t digit = (value >> (6 * position)) & 63;
    out.push_back(kDigits[static_cast<std::size_t>(digit)]);
  }
}

std::optional<std::int64_t> read_number(std::string_view text, std::size_t& position, int digits) {
  if (position + static_cast<std::size_t>(digits) > text.size()) return std::nullopt;
  std::int64_t value = 0;
  for (int i = 0; i < digits; ++i) {
    const std::size_t digit = kDigits.find(text[position++]);
    if (digit == std::string_view::npos) return std::nullopt;
    value = (value << 6) | static_cast<std::int64_t>(digit);
  }
  return value;
}

std::int64_t to_seconds(std::int64_t ms) { return (ms + 500) / 1000; }

}  // namespace

std::int64_t floor_to_multiple(std::int64_t value, std::int64_t step) {
  std::int64_t quotient = value / step;
  if (value % step != 0 && value < 0) --quotient;
  return quotient * step;
}

BucketSeries::BucketSeries(std::int64_t width_ms, std::int64_t retention_ms)
    : width_ms_(width_ms), retention_ms_(retention_ms) {}

void BucketSeries::add(std::int64_t start_ms, TimeTally tally) {
  const std::int64_t capacity = retention_ms_ / width_ms_;
  if (tallies_.empty()) {
    first_start_ms_ = start_ms;
    tallies_.push_back(tally);
    return;
  }
  if (start_ms < first_start_ms_) return;
  std::int64_t index = (start_ms - first_start_ms_) / width_ms_;
  const std::int64_t newest = static_cast<std::int64_t>(tallies_.size()) - 1;
  if (index - newest > capacity) {  // far past everything kept: start over
    tallies_.clear();
    first_start_ms_ = start_ms;
    tallies_.push_back(tally);
    return;
  }
  while (index >= static_cast<std::int64_t>(tallies_.size())) tallies_.emplace_back();
  tallies_[static_cast<std::size_t>(index)] += tally;
  while (static_cast<std::int64_t>(tallies_.size()) > capacity) {
    tallies_.pop_front();
    first_start_ms_ += width_ms_;
  }
}

TimeSum BucketSeries::sum_since(std::int64_t from_ms) const {
  TimeSum sum;
  std::int64_t start = first_start_ms_;
  for (const auto& tally : tallies_) {
    const std::int64_t end = start + width_ms_;
    if (end > from_ms) {
      const double share =
          start >= from_ms ? 1.0
                           : static_cast<double>(end - from_ms) / static_cast<double>(width_ms_);
      sum.known_ms += share * static_cast<double>(tally.known_ms);
      sum.bad_ms += share * static_cast<double>(tally.bad_ms);
    }
    start = end;
  }
  return sum;
}

void BucketSeries::assign(std::int64_t first_start_ms, std::deque<TimeTally> tallies) {
  first_start_ms_ = first_start_ms;
  tallies_ = std::move(tallies);
  const auto capacity = static_cast<std::size_t>(retention_ms_ / width_ms_);
  while (tallies_.size() > capacity) {
    tallies_.pop_front();
    first_start_ms_ += width_ms_;
  }
}

std::string encode_tallies(const std::deque<TimeTally>& tallies, int digits) {
  std::string out;
  std::size_t index = 0;
  while (index < tallies.size()) {
    const std::int64_t known = to_seconds(tallies[index].known_ms);
    const std::int64_t bad = std::min(known, to_seconds(tallies[index].bad_ms));
    std::size_t run_end = index + 1;
    while (run_end < tallies.size() && run_end - index - 1 < static_cast<std::size_t>(kMaxRepeat) &&
           to_seconds(tallies[run_end].known_ms) == known &&
           std::min(to_seconds(tallies[run_end].known_ms), to_seconds(tallies[run_end].bad_ms)) ==
               bad) {
      ++run_end;
    }
    append_number(out, known, digits);
    append_number(out, bad, digits);
    const auto repeats = static_cast<std::int64_t>(run_end - index - 1);
    // A repeat marker costs 3 characters: only worth it when it replaces more than that.
    if (repeats * 2 * digits > 1 + kRepeatDigits) {
      out.push_back('*');
      append_number(out, repeats, kRepeatDigits);
      index = run_end;
    } else {
      ++index;
    }
  }
  return out;
}

Result<std::deque<TimeTally>> decode_tallies(std::string_view text, int digits,
                                             std::int64_t max_known_seconds,
                                             std::size_t max_buckets) {
  std::deque<TimeTally> tallies;
  std::size_t position = 0;
  while (position < text.size()) {
    const std::size_t bucket_start = position;
    auto known = read_number(text, position, digits);
    auto bad = known ? read_number(text, position, digits) : std::nullopt;
    if (!known || !bad) {
      return Error{"InvalidBuckets", "malformed bucket at offset " + std::to_string(bucket_start)};
    }
    if (*known > max_known_seconds || *bad > *known) {
      return Error{"InvalidBuckets", "impossible bucket (" + std::to_string(*known) + " s known, " +
                                         std::to_string(*bad) + " s bad)"};
    }
    std::int64_t copies = 1;
    if (position < text.size() && text[position] == '*') {
      const std::size_t repeat_start = position++;
      auto repeats = read_number(text, position, kRepeatDigits);
      if (!repeats) {
        return Error{"InvalidBuckets",
                     "malformed repeat at offset " + std::to_string(repeat_start)};
      }
      copies += *repeats;
    }
    if (tallies.size() + static_cast<std::size_t>(copies) > max_buckets) {
      return Error{"InvalidBuckets", "more than " + std::to_string(max_buckets) + " buckets"};
    }
    for (std::int64_t i = 0; i < copies; ++i) tallies.push_back({*known * 1000, *bad * 1000});
  }
  return tallies;
}

}  // namespace lagpilot::alerts
