#include "metrics/openmetrics.h"

#include <prometheus/metric_family.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lagpilot::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// A number as prometheus-cpp 1.0.1's TextSerializer writes it (printf's %.16g; measured), for
// values and for the `le` and `quantile` labels alike, so that both formats name the same
// series; NaN, +Inf and -Inf as OpenMetrics spells them.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-Inf" : "+Inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", 16, value);
  return buffer;
}

void write_number(std::string& out, double value) { out += number(value); }

// Seconds since the epoch with millisecond precision (OpenMetrics timestamps are seconds).
void write_timestamp(std::string& out, std::int64_t milliseconds) {
  const char* sign = milliseconds < 0 ? "-" : "";
  const std::int64_t magnitude = milliseconds < 0 ? -milliseconds : milliseconds;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s%lld.%03lld", sign,
                static_cast<long long>(magnitude / 1000), static_cast<long long>(magnitude % 1000));
  out += buffer;
}

void write_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void write_labels(std::string& out, const std::vector<ClientMetric::Label>& labels,
                  const char* extra_name = nullptr, const std::string& extra_value = "") {
  if (labels.empty() && !extra_name) return;
  out += '{';
  const char* separator = "";
  for (const auto& label : labels) {
    out += separator;
    out += label.name;
    out += "=\"";
    write_escaped(out, label.value);
    out += '"';
    separator = ",";
  }
  if (extra_name) {
    out += separator;
    out += extra_name;
    out += "=\"";
    write_escaped(out, extra_value);
    out += '"';
  }
  out += '}';
}

void write_tail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    write_timestamp(out, metric.timestamp_ms);
  }
}

void write_sample(std::string& out, const std::string& name, const ClientMetric& metric,
                  double value) {
  out += name;
  write_labels(out, metric.label);
  out += ' ';
  write_number(out, value);
  write_tail(out, metric);
  out += '\n';
}

void write_count(std::string& out, const std::string& name, const ClientMetric& metric,
                 std::uint64_t count) {
  out += name;
  write_labels(out, metric.label);
  out += ' ';
  out += std::to_string(count);
  write_tail(out, metric);
  out += '\n';
}

void write_exemplar(std::string& out, const Exemplar& exemplar) {
  out += " # {trace_id=\"";
  write_escaped(out, exemplar.trace_id);
  out += "\"} ";
  write_number(out, exemplar.value);
  out += ' ';
  write_timestamp(
      out, std::chrono::duration_cast<std::chrono::milliseconds>(exemplar.time.time_since_epoch())
               .count());
}

void write_histogram(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                     const ExemplarStore* exemplars) {
  const auto& histogram = metric.histogram;
  SeriesLabels series;
  if (exemplars) {
    for (const auto& label : metric.label) series[label.name] = label.value;
  }
  bool has_infinity = false;
  auto write_bucket = [&](double upper_bound, std::uint64_t count) {
    out += family.name;
    out += "_bucket";
    write_labels(out, metric.label, "le", number(upper_bound));
    out += ' ';
    out += std::to_string(count);
    write_tail(out, metric);
    if (exemplars) {
      if (auto exemplar = exemplars->find(family.name, series, upper_bound))
        write_exemplar(out, *exemplar);
    }
    out += '\n';
  };
  for (const auto& bucket : histogram.bucket) {
    write_bucket(bucket.upper_bound, bucket.cumulative_count);
    has_infinity = has_infinity || std::isinf(bucket.upper_bound);
  }
  if (!has_infinity) write_bucket(std::numeric_limits<double>::infinity(), histogram.sample_count);
  write_count(out, family.name + "_count", metric, histogram.sample_count);
  write_sample(out, family.name + "_sum", metric, histogram.sample_sum);
}

void write_summary(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const auto& summary = metric.summary;
  for (const auto& quantile : summary.quantile) {
    out += family.name;
    write_labels(out, metric.label, "quantile", number(quantile.quantile));
    out += ' ';
    write_number(out, quantile.value);
    write_tail(out, metric);
    out += '\n';
  }
  write_count(out, family.name + "_count", metric, summary.sample_count);
  write_sample(out, family.name + "_sum", metric, summary.sample_sum);
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_metadata(std::string& out, const std::string& name, const char* type,
                    const std::string& help) {
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    write_escaped(out, help);
    out += '\n';
  }
}

void write_family(std::string& out, const MetricFamily& family, const ExemplarStore* exemplars) {
  switch (family.type) {
    case MetricType::Counter:
      // OpenMetrics names the family without `_total` and each sample with it. A counter named
      // otherwise would change its series' name: it is written as `unknown` instead.
      if (ends_with(family.name, "_total")) {
        write_metadata(out, family.name.substr(0, family.name.size() - 6), "counter", family.help);
      } else {
        write_metadata(out, family.name, "unknown", family.help);
      }
      for (const auto& metric : family.metric)
        write_sample(out, family.name, metric, metric.counter.value);
      break;
    case MetricType::Gauge:
      write_metadata(out, family.name, "gauge", family.help);
      for (const auto& metric : family.metric)
        write_sample(out, family.name, metric, metric.gauge.value);
      break;
    case MetricType::Untyped:
      write_metadata(out, family.name, "unknown", family.help);
      for (const auto& metric : family.metric)
        write_sample(out, family.name, metric, metric.untyped.value);
      break;
    case MetricType::Summary:
      write_metadata(out, family.name, "summary", family.help);
      for (const auto& metric : family.metric) write_summary(out, family, metric);
      break;
    case MetricType::Histogram:
      write_metadata(out, family.name, "histogram", family.help);
      for (const auto& metric : family.metric) write_histogram(out, family, metric, exemplars);
      break;
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

// One media range of an Accept header: its type and its q and version parameters.
struct MediaRange {
  std::string type;
  double quality = 1;
  std::string version;
};

MediaRange parse_range(std::string_view range) {
  MediaRange parsed;
  std::size_t semicolon = range.find(';');
  parsed.type = lower(trim(range.substr(0, semicolon)));
  while (semicolon != std::string_view::npos) {
    range.remove_prefix(semicolon + 1);
    semicolon = range.find(';');
    std::string_view parameter = trim(range.substr(0, semicolon));
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string name = lower(trim(parameter.substr(0, equals)));
    std::string_view value = trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (name == "q") {
      double quality = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), quality);
      parsed.quality = error == std::errc() && end == value.data() + value.size() ? quality : 0;
    } else if (name == "version") {
      parsed.version = std::string(value);
    }
  }
  return parsed;
}

}  // namespace

std::string serialize_openmetrics(const std::vector<MetricFamily>& families,
                                  const ExemplarStore* exemplars) {
  std::string out;
  for (const auto& family : families) write_family(out, family, exemplars);
  out += "# EOF\n";
  return out;
}

bool wants_openmetrics(std::string_view accept) {
  double openmetrics = 0;
  double text = 0;
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    const MediaRange range = parse_range(accept.substr(0, comma));
    accept.remove_prefix(comma == std::string_view::npos ? accept.size() : comma + 1);
    if (range.type == "application/openmetrics-text") {
      if (range.version.empty() || range.version == "1.0.0")
        openmetrics = std::max(openmetrics, range.quality);
    } else if (range.type == "text/plain" || range.type == "*/*") {
      text = std::max(text, range.quality);
    }
  }
  return openmetrics > 0 && openmetrics >= text;
}

}  // namespace lagpilot::metrics
