#pragma once
// A small standalone-SVG plotter for the demo: stacked panels over one time axis, line or step
// series, a dashed threshold with the time above it shaded, and vertical event markers.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/demo/live_view.h"

namespace lagpilot::demo {

struct PlotSeries {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (t, value), t ascending
  bool step = false;                              // hold each value until the next point
  bool dashed = false;
  bool fill = false;  // shade the area under the line
};

struct PlotPanel {
  std::string title;  // y-axis label, e.g. "lag (msgs)"
  std::vector<PlotSeries> series;
  std::optional<double> threshold;  // dashed line; the first series above it is shaded red
  std::string threshold_label;
  bool integer_ticks = false;
};

struct PlotMarker {
  double t = 0;
  std::string label;  // e.g. "1→5"
  std::string color;
};

struct Plot {
  std::string title;
  std::string subtitle;
  double t_end = 0;  // x axis spans [0, t_end]
  std::vector<PlotPanel> panels;
  std::vector<PlotMarker> markers;
  int width = 960;
  int panel_height = 140;
};

std::string render_svg(const Plot& plot);

// The demo's picture: arrivals/processed, lag, lagSeconds against the objective, replicas.
// `scales`: the operator's scale patches at their exact times (marked, and where spec.replicas
// steps).
Plot demo_plot(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& scales,
               const RunInfo& info);

}  // namespace lagpilot::demo
