#pragma once
// The demo's picture, drawn by util/svg_plot.h: arrivals/processed, lag, lagSeconds against the
// objective, replicas, with the operator's scale patches marked.
#include <vector>

#include "tools/demo/live_view.h"
#include "util/svg_plot.h"

namespace lagpilot::demo {

// `scales`: the operator's scale patches at their exact times (marked, and where spec.replicas
// steps).
Plot demo_plot(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& scales,
               const RunInfo& info);

}  // namespace lagpilot::demo
