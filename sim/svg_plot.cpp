#include "sim/svg_plot.h"

#include <algorithm>
#include <functional>

#include "sim/report.h"
#include "util/svg_plot.h"

namespace lagpilot::sim {
namespace {

// One value per simulated second, at the second's end.
std::vector<std::pair<double, double>> column(
    const SimulationResult& result, const std::function<double(const SecondRecord&)>& get) {
  std::vector<std::pair<double, double>> points;
  points.reserve(result.series.size());
  for (const SecondRecord& record : result.series) {
    points.emplace_back(static_cast<double>(record.time + 1), get(record));
  }
  return points;
}

// The first result (lagpilot, in comparisons) stands out; the others are thinner.
PlotSeries policy_series(const SimulationResult& result, bool first, std::string name,
                         const std::function<double(const SecondRecord&)>& get) {
  PlotSeries series{
      .name = std::move(name), .color = policy_color(result.policy), .points = column(result, get)};
  series.stroke_width = first ? 1.6 : 1.1;
  series.opacity = first ? 1 : 0.75;
  return series;
}

}  // namespace

std::string policy_color(const std::string& policy) {
  if (policy == "lagpilot") return "#1f77b4";
  if (policy == "hpa-keda") return "#ff7f0e";
  if (policy == "seed") return "#2ca02c";
  return "#7f7f7f";
}

std::string render_svg(const std::vector<const SimulationResult*>& results,
                       const PlotOptions& options) {
  if (results.empty()) return "";
  const SimulationResult& first = *results.front();
  const bool single = results.size() == 1;
  Plot plot;
  plot.title = options.title;
  plot.width = options.width;
  plot.t_end = static_cast<double>(first.series.size());
  plot.time_label = "simulated time";

  PlotPanel arrivals{.title = "arrivals (msg/s)"};
  PlotSeries arrived{"arrivals", "#333333",
                     column(first, [](const SecondRecord& r) { return r.arrivals; })};
  arrived.stroke_width = 1.4;
  arrivals.series.push_back(std::move(arrived));
  if (single) {
    PlotSeries processed{
        .name = "processed", .color = "#9467bd", .points = column(first, [](const SecondRecord& r) {
                                                   return r.processed;
                                                 })};
    processed.stroke_width = 1;
    processed.opacity = 0.7;
    arrivals.series.push_back(std::move(processed));
  }

  PlotPanel lag{.title = "lag (msgs)"};
  PlotPanel lag_seconds{.title = "lagSeconds (s) — objective dashed"};
  PlotPanel replicas{.title = "replicas"};
  for (const auto* result : results) {
    const bool is_first = result == results.front();
    lag.series.push_back(policy_series(*result, is_first, result->policy,
                                       [](const SecondRecord& r) { return r.lag; }));
    lag_seconds.series.push_back(policy_series(
        *result, is_first, result->policy, [](const SecondRecord& r) { return r.lag_seconds; }));
    replicas.series.push_back(policy_series(
        *result, is_first, single ? "desired" : result->policy,
        [](const SecondRecord& r) { return static_cast<double>(r.replicas_desired); }));
  }
  if (options.objective_seconds > 0) {
    lag_seconds.threshold = options.objective_seconds;
    lag_seconds.threshold_label = "objective " + short_number(options.objective_seconds) + " s";
    lag_seconds.shade_above_threshold = single;
    lag_seconds.y_max = options.objective_seconds * 1.25 * 1.05;
  }
  if (single) {
    PlotSeries consuming{
        .name = "consuming", .color = "#8c564b", .points = column(first, [](const SecondRecord& r) {
                                                   return static_cast<double>(r.replicas_current);
                                                 })};
    consuming.stroke_width = 1.2;
    consuming.dashed = true;
    replicas.series.push_back(std::move(consuming));
  }
  int peak = 1;
  for (const auto* result : results) peak = std::max(peak, result->summary.peak_replicas);
  replicas.y_max = peak * 1.1;
  replicas.integer_ticks = true;
  plot.panels = {arrivals, lag, lag_seconds, replicas};

  // The numbers people compare.
  for (const auto* result : results) {
    const Summary& s = result->summary;
    plot.footer.push_back(
        result->policy + ": " + thousands(static_cast<double>(s.violation_seconds)) +
        " s in violation, " + thousands(s.replica_seconds) + " replica-seconds, " +
        std::to_string(s.scaling_actions) + " scaling actions, max lagSeconds " +
        short_number(s.max_lag_seconds) + " s");
  }
  return lagpilot::render_svg(plot);
}

}  // namespace lagpilot::sim
