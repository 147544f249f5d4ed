#include "metrics/exemplar_store.h"

#include <algorithm>
#include <limits>

namespace lagpilot::metrics {

std::string ExemplarStore::series_key(const std::string& metric, const SeriesLabels& labels) {
  std::string key = metric;
  for (const auto& [name, value] : labels) {
    key += '\0';
    key += name;
    key += '\0';
    key += value;
  }
  return key;
}

void ExemplarStore::record(const std::string& metric, const SeriesLabels& labels,
                           const std::vector<double>& bounds, double value,
                           const std::string& trace_id) {
  if (trace_id.empty()) return;
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value);
  const double upper_bound =
      bucket == bounds.end() ? std::numeric_limits<double>::infinity() : *bucket;
  Exemplar exemplar{trace_id, value, clock_.now()};
  std::lock_guard lock(mutex_);
  by_series_[series_key(metric, labels)][upper_bound] = std::move(exemplar);
}

std::optional<Exemplar> ExemplarStore::find(const std::string& metric, const SeriesLabels& labels,
                                            double upper_bound) const {
  std::lock_guard lock(mutex_);
  auto series = by_series_.find(series_key(metric, labels));
  if (series == by_series_.end()) return std::nullopt;
  auto bucket = series->second.find(upper_bound);
  if (bucket == series->second.end()) return std::nullopt;
  return bucket->second;
}

void ExemplarStore::forget(const std::string& metric, const SeriesLabels& labels) {
  std::lock_guard lock(mutex_);
  by_series_.erase(series_key(metric, labels));
}

std::size_t ExemplarStore::size() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [key, buckets] : by_series_) count += buckets.size();
  return count;
}

}  // namespace lagpilot::metrics
