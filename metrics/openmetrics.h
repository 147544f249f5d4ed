#pragma once
// The OpenMetrics 1.0 text exposition (application/openmetrics-text; version=1.0.0) of what a
// prometheus-cpp registry collects, with the exemplars of an ExemplarStore after the histogram
// buckets they belong to. Series names and label values are those of prometheus-cpp's
// TextSerializer (the same `le` and `quantile` spelling), so a scraper stores the same series
// whichever format it asked for. Counters: `# TYPE <name without _total> counter`, samples
// `<name>_total`; untyped families are `unknown`; the exposition ends with `# EOF`.
#include <string>
#include <string_view>
#include <vector>

#include "metrics/exemplar_store.h"

namespace prometheus {
struct MetricFamily;
}

namespace lagpilot::metrics {

inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// `exemplars` may be nullptr (none written).
std::string serialize_openmetrics(const std::vector<prometheus::MetricFamily>& families,
                                  const ExemplarStore* exemplars);

// Whether a scraper's Accept header asks for OpenMetrics 1.0 rather than the text format 0.0.4:
// an `application/openmetrics-text` range (version 1.0.0 or none) with a quality above 0 and at
// least that of the best `text/plain` or `*/*` range. Prometheus 2.x sends
// `application/openmetrics-text;version=1.0.0,...;text/plain;version=0.0.4;q=0.5,*/*;q=0.1`.
bool wants_openmetrics(std::string_view accept);

}  // namespace lagpilot::metrics
