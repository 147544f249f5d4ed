#pragma once
// The picture of a run (or of several policies on one trace): stacked panels sharing the time
// axis — arrivals, lag (msgs), lagSeconds against the objective, replicas — as a standalone SVG,
// drawn by util/svg_plot.h.
#include <string>
#include <vector>

#include "sim/simulation.h"

namespace lagpilot::sim {

struct PlotOptions {
  std::string title;
  double objective_seconds = 0;  // drawn as a dashed line on the lagSeconds panel; 0: none
  int width = 1100;
};

// `results` share one trace (arrivals are taken from the first); each needs its series. With one
// result the plot adds processed msg/s and ready replicas, and shades the seconds in violation.
// Long runs are reduced to one min/max pair per pixel column, so peaks survive.
std::string render_svg(const std::vector<const SimulationResult*>& results,
                       const PlotOptions& options);

// The colour a policy is drawn in ("lagpilot", "hpa-keda", "seed"; others grey).
std::string policy_color(const std::string& policy);

}  // namespace lagpilot::sim
