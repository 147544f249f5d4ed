#pragma once
// Exemplars of histograms (OpenMetrics): for each bucket of each series, the latest observation
// that came with a sampled trace, as its trace id, value and time. One per bucket per series, so
// memory is bounded by the buckets the histograms have. prometheus-cpp 1.0.1 has no exemplars;
// the OpenMetrics writer (openmetrics.h) adds these to what the registry collects.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"

namespace lagpilot::metrics {

using SeriesLabels = std::map<std::string, std::string>;

struct Exemplar {
  std::string trace_id;  // 32 lower-case hex digits
  double value = 0;      // the observation
  WallTime time;         // when it was observed (the injected Clock)
};

class ExemplarStore {
 public:
  explicit ExemplarStore(Clock& clock) : clock_(clock) {}

  // `value` was observed on histogram `metric` (its family name), series `labels`, whose bucket
  // bounds are `bounds` (ascending, without +Inf): it becomes the exemplar of the bucket it falls
  // in, the first whose bound is >= value (+Inf past the last). Nothing for an empty trace id.
  void record(const std::string& metric, const SeriesLabels& labels,
              const std::vector<double>& bounds, double value, const std::string& trace_id);

  // The exemplar of the bucket with upper bound `upper_bound` (+Inf for the last), if any.
  std::optional<Exemplar> find(const std::string& metric, const SeriesLabels& labels,
                               double upper_bound) const;

  // Drops the series' exemplars (the series was removed).
  void forget(const std::string& metric, const SeriesLabels& labels);

  // Exemplars held, over all series and buckets.
  std::size_t size() const;

 private:
  static std::string series_key(const std::string& metric, const SeriesLabels& labels);

  Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<double, Exemplar>> by_series_;  // series -> bucket bound -> latest
};

}  // namespace lagpilot::metrics
