#include "sources/kafka/offset_time_table.h"

#include <algorithm>
#include <chrono>

namespace lagpilot {

void OffsetTimeTable::record(int64_t high_watermark, WallTime time) {
  if (!points_.empty()) {
    const Point& newest = points_.back();
    if (time <= newest.time) return;
    if (high_watermark < newest.offset) points_.clear();
  }
  const std::size_t n = points_.size();
  if (n >= 2 && points_[n - 1].offset == high_watermark &&
      points_[n - 2].offset == high_watermark) {
    points_.back().time = time;
    return;
  }
  if (points_.size() == max_points_) points_.erase(points_.begin());
  points_.push_back({high_watermark, time});
}

std::optional<WallTime> OffsetTimeTable::time_of_offset(int64_t offset) const {
  if (points_.empty() || offset > points_.back().offset) return std::nullopt;
  using Seconds = std::chrono::duration<double>;
  auto after = std::upper_bound(points_.begin(), points_.end(), offset,
                                [](int64_t o, const Point& p) { return o < p.offset; });
  if (after == points_.end()) return points_.back().time;  // offset == newest watermark
  if (after != points_.begin()) {
    const Point& lower = *std::prev(after);
    const Point& upper = *after;
    const double fraction = static_cast<double>(offset - lower.offset) /
                            static_cast<double>(upper.offset - lower.offset);
    return lower.time + std::chrono::duration_cast<WallTime::duration>(
                            Seconds(fraction * Seconds(upper.time - lower.time).count()));
  }
  const Point& oldest = points_.front();
  const Point& newest = points_.back();
  if (newest.offset <= oldest.offset) return std::nullopt;
  const double records_per_second = static_cast<double>(newest.offset - oldest.offset) /
                                    Seconds(newest.time - oldest.time).count();
  const double seconds_before = static_cast<double>(oldest.offset - offset) / records_per_second;
  return oldest.time - std::chrono::duration_cast<WallTime::duration>(Seconds(seconds_before));
}

}  // namespace lagpilot
