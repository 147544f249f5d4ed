#pragma once
// When did a partition's high watermark reach a given offset? Answered from (high watermark,
// time) points recorded at earlier polls, as kafka-lag-exporter does, to estimate how old the
// record at a consumer group's committed offset is without reading it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "util/clock.h"

namespace lagpilot {

class OffsetTimeTable {
 public:
  explicit OffsetTimeTable(std::size_t max_points) : max_points_(max_points < 2 ? 2 : max_points) {}

  // Records that the high watermark was `high_watermark` at `time`. Points must come in time
  // order; a watermark that went backwards (topic recreated) starts the table over.
  void record(int64_t high_watermark, WallTime time);

  // Estimated time at which the high watermark was `offset`: linear between the two recorded
  // points around it, extrapolated at the table's average rate below its oldest point. nullopt
  // above the newest point, or below the oldest one when the table cannot give a rate.
  std::optional<WallTime> time_of_offset(int64_t offset) const;

  std::size_t size() const { return points_.size(); }

 private:
  struct Point {
    int64_t offset;
    WallTime time;
  };
  std::size_t max_points_;
  // Offsets never decrease; a run of equal offsets keeps only its first and last point, which is
  // all a lookup needs (the last time the watermark sat at an offset and the first time it was
  // past it).
  std::vector<Point> points_;  // small (max_points_), so erasing at the front is cheap
};

}  // namespace lagpilot
