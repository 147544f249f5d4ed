#include "tools/demo/demo_plot.h"

#include <algorithm>
#include <string>
#include <utility>

namespace lagpilot::demo {

Plot demo_plot(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& scales,
               const RunInfo& info) {
  Plot plot;
  plot.title = "lagpilot demo: lag and replicas";
  plot.subtitle = "seed " + std::to_string(info.seed) + ", " +
                  format_duration(samples.empty() ? 0 : samples.back().t) + ", " +
                  short_number(info.per_replica_rate) +
                  " msg/s per replica, drainTime policy, targetDrainSeconds " +
                  short_number(info.objective_seconds);
  plot.t_end = std::max(1.0, samples.empty() ? info.duration : samples.back().t);
  plot.time_label = "since the load started";
  plot.width = 960;
  plot.xml_declaration = true;

  PlotSeries arrivals{.name = "arrivals (msg/s)", .color = "#1e88e5"};
  PlotSeries processed{.name = "processed (msg/s)", .color = "#43a047"};
  PlotSeries lag{.name = "consumer lag (msgs)", .color = "#8e24aa"};
  lag.fill = true;
  PlotSeries lag_seconds{.name = "lagSeconds", .color = "#fb8c00"};
  lag_seconds.fill = true;
  PlotSeries current{.name = "replicas (spec)", .color = "#3949ab"};
  current.step = true;
  PlotSeries desired{.name = "desired", .color = "#757575"};
  desired.step = true;
  desired.dashed = true;
  PlotSeries ready{.name = "ready", .color = "#00897b"};
  ready.step = true;
  for (const auto& s : samples) {
    arrivals.points.emplace_back(s.t, s.arrivals);
    processed.points.emplace_back(s.t, s.processed);
    if (s.lag) lag.points.emplace_back(s.t, static_cast<double>(*s.lag));
    if (s.lag_seconds) lag_seconds.points.emplace_back(s.t, *s.lag_seconds);
    desired.points.emplace_back(s.t, s.desired);
    ready.points.emplace_back(s.t, s.ready);
  }
  // spec.replicas changes only when the operator patches it: step at the exact patch times.
  if (!samples.empty()) {
    int replicas = scales.empty() ? samples.back().current : scales.front().from;
    current.points.emplace_back(samples.front().t, replicas);
    for (const auto& e : scales) {
      if (e.t <= samples.front().t) {
        current.points.front().second = e.to;
        replicas = e.to;
        continue;
      }
      current.points.emplace_back(e.t, e.to);
      replicas = e.to;
    }
    current.points.emplace_back(plot.t_end, replicas);
  }
  plot.panels.push_back({.title = "msg/s", .series = {arrivals, processed}});
  plot.panels.push_back({.title = "lag (msgs)", .series = {lag}});
  plot.panels.push_back({"lagSeconds (s)",
                         {lag_seconds},
                         info.objective_seconds,
                         "objective " + short_number(info.objective_seconds) + " s",
                         true});
  PlotPanel replicas{
      .title = "replicas", .series = {current, desired, ready}, .integer_ticks = true};
  plot.panels.push_back(std::move(replicas));
  for (const auto& e : scales) {
    plot.markers.push_back({.t = e.t,
                            .label = std::to_string(e.from) + "→" + std::to_string(e.to),
                            .color = e.to > e.from ? "#d81b60" : "#6d4c41"});
  }
  return plot;
}

}  // namespace lagpilot::demo
