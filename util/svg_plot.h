#pragma once
// The one SVG plotter (lagpilot simulate, the scaling benchmark, the demo): stacked panels over one
// time axis, line or step series, a dashed threshold with the time above it shaded, vertical event
// markers, a legend right of each panel and footer lines, as a standalone SVG document. A series
// with more points than the plot is wide keeps each pixel column's minimum and maximum, so peaks
// survive and long runs stay small.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lagpilot {

struct PlotSeries {
  std::string name{};  // legend label; empty: not in the legend
  std::string color{};
  std::vector<std::pair<double, double>> points{};  // (t in seconds, value), t ascending
  bool step = false;                                // hold each value until the next point
  bool dashed = false;
  bool fill = false;  // shade the area under the line
  double stroke_width = 1.6;
  double opacity = 1;
};

struct PlotPanel {
  std::string title{};  // above the panel, e.g. "lag (msgs)"
  // Listed in the legend in this order and drawn in the reverse one, so the first is on top.
  std::vector<PlotSeries> series{};
  std::optional<double> threshold{};  // a dashed red line, in the legend as threshold_label
  std::string threshold_label{};
  bool shade_above_threshold = false;  // shade where the first series is above the threshold
  double y_max = 0;  // the y axis reaches at least this, and 5 % above every point and threshold
  bool integer_ticks = false;  // whole numbers on the y axis (replicas)
};

struct PlotMarker {
  double t = 0;
  std::string label{};  // e.g. "1→5", under the last panel's top edge
  std::string color{};
};

struct Plot {
  std::string title{};
  std::string subtitle{};           // empty: none
  double t_end = 0;                 // the time axis spans [0, t_end]; 0: up to the last point
  std::string time_label = "time";  // under the axis, followed by "(m:ss)" or "(h:mm)"
  std::vector<PlotPanel> panels{};
  std::vector<PlotMarker> markers{};
  std::vector<std::string> footer{};  // one line each, under the time axis
  int width = 1100;
  bool xml_declaration = false;  // begin with <?xml ...?>
};

std::string render_svg(const Plot& plot);

// How the plot writes numbers on its axes, one decimal at most: 950 -> "950", 59.98 -> "60",
// 12345 -> "12.3k", 2500000 -> "2.5M".
std::string short_number(double value);

}  // namespace lagpilot
