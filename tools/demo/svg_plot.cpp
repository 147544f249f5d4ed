#include "tools/demo/svg_plot.h"
#include "util/xml.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lagpilot::demo {
namespace {

constexpr int kLeft = 78;
constexpr int kRight = 24;
constexpr int kTop = 64;
constexpr int kGap = 30;
constexpr int kBottom = 46;

std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  std::string text = buffer;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

std::string escape(const std::string& text) { return xml_escape(text); }

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `ticks` intervals up to `top`.
double nice_step(double top, int ticks, bool integer) {
  if (top <= 0) return 1;
  const double raw = top / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  return integer ? std::max(1.0, std::round(step)) : step;
}

std::string tick_label(double value) {
  if (value >= 10'000) return num(value / 1000) + "k";
  return num(value);
}

struct Frame {
  double x0, y0, w, h;  // pixels
  double t_end, top;    // data ranges: t in [0, t_end], value in [0, top]
  double x(double t) const { return x0 + w * std::clamp(t / t_end, 0.0, 1.0); }
  double y(double v) const { return y0 + h - h * std::clamp(v / top, 0.0, 1.0); }
};

std::string polyline(const Frame& f, const PlotSeries& s) {
  std::string points;
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    const auto& [t, v] = s.points[i];
    if (s.step && i > 0) points += num(f.x(t)) + "," + num(f.y(s.points[i - 1].second)) + " ";
    points += num(f.x(t)) + "," + num(f.y(v)) + " ";
  }
  return points;
}

}  // namespace

std::string render_svg(const Plot& plot) {
  const int panels = static_cast<int>(plot.panels.size());
  const int height = kTop + panels * plot.panel_height + (panels - 1) * kGap + kBottom;
  const double t_end = plot.t_end > 0 ? plot.t_end : 1;
  const double plot_w = plot.width - kLeft - kRight;
  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(plot.width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
         std::to_string(plot.width) + " " + std::to_string(height) +
         "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + std::to_string(kLeft) +
         "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" + escape(plot.title) + "</text>\n";
  svg += "<text x=\"" + std::to_string(kLeft) + "\" y=\"42\" fill=\"#555\">" +
         escape(plot.subtitle) + "</text>\n";

  const double t_step = nice_step(t_end, 8, true);
  for (int i = 0; i < panels; ++i) {
    const PlotPanel& panel = plot.panels[static_cast<std::size_t>(i)];
    double top = panel.threshold.value_or(0);
    for (const auto& s : panel.series)
      for (const auto& [t, v] : s.points) top = std::max(top, v);
    const double step = nice_step(top * 1.05, 4, panel.integer_ticks);
    top = std::max(step, std::ceil(top * 1.05 / step) * step);
    const Frame f{static_cast<double>(kLeft),
                  static_cast<double>(kTop + i * (plot.panel_height + kGap)),
                  plot_w,
                  static_cast<double>(plot.panel_height),
                  t_end,
                  top};

    svg += "<g>\n";
    // Shaded time where the first series is above the threshold.
    if (panel.threshold && !panel.series.empty()) {
      const auto& points = panel.series.front().points;
      for (std::size_t k = 0; k < points.size(); ++k) {
        if (points[k].second <= *panel.threshold) continue;
        const double from = k == 0 ? 0 : points[k - 1].first;
        svg += "<rect x=\"" + num(f.x(from)) + "\" y=\"" + num(f.y0) + "\" width=\"" +
               num(std::max(0.5, f.x(points[k].first) - f.x(from))) + "\" height=\"" + num(f.h) +
               "\" fill=\"#e53935\" fill-opacity=\"0.12\"/>\n";
      }
    }
    // Grid and y ticks.
    for (double v = 0; v <= top + step / 2; v += step) {
      svg += "<line x1=\"" + num(f.x0) + "\" x2=\"" + num(f.x0 + f.w) + "\" y1=\"" + num(f.y(v)) +
             "\" y2=\"" + num(f.y(v)) + "\" stroke=\"#e6e6e6\"/>\n";
      svg += "<text x=\"" + num(f.x0 - 6) + "\" y=\"" + num(f.y(v) + 4) +
             "\" text-anchor=\"end\" fill=\"#444\">" + tick_label(v) + "</text>\n";
    }
    for (double t = 0; t <= t_end + 1e-9; t += t_step) {
      svg += "<line x1=\"" + num(f.x(t)) + "\" x2=\"" + num(f.x(t)) + "\" y1=\"" + num(f.y0) +
             "\" y2=\"" + num(f.y0 + f.h) + "\" stroke=\"#f0f0f0\"/>\n";
    }
    // Markers; a label that would overlap the one before goes a row lower.
    std::vector<double> row_end(4, -1e9);
    for (const auto& m : plot.markers) {
      if (m.t < 0 || m.t > t_end) continue;
      svg += "<line x1=\"" + num(f.x(m.t)) + "\" x2=\"" + num(f.x(m.t)) + "\" y1=\"" + num(f.y0) +
             "\" y2=\"" + num(f.y0 + f.h) + "\" stroke=\"" + m.color +
             "\" stroke-dasharray=\"2,3\" stroke-opacity=\"0.8\"/>\n";
      if (i == panels - 1) {
        const double x = f.x(m.t) + 2;
        std::size_t row = 0;
        while (row + 1 < row_end.size() && row_end[row] > x) ++row;
        row_end[row] = x + 6.0 * static_cast<double>(m.label.size()) + 4;
        svg += "<text x=\"" + num(x) + "\" y=\"" + num(f.y0 + 11 + 11 * static_cast<double>(row)) +
               "\" fill=\"" + m.color + "\" font-size=\"10\">" + escape(m.label) + "</text>\n";
      }
    }
    // Threshold.
    if (panel.threshold) {
      svg += "<line x1=\"" + num(f.x0) + "\" x2=\"" + num(f.x0 + f.w) + "\" y1=\"" +
             num(f.y(*panel.threshold)) + "\" y2=\"" + num(f.y(*panel.threshold)) +
             "\" stroke=\"#e53935\" stroke-dasharray=\"6,4\"/>\n";
      svg += "<text x=\"" + num(f.x0 + f.w - 4) + "\" y=\"" + num(f.y(*panel.threshold) - 4) +
             "\" text-anchor=\"end\" fill=\"#e53935\">" + escape(panel.threshold_label) +
             "</text>\n";
    }
    // Series.
    for (const auto& s : panel.series) {
      if (s.points.empty()) continue;
      const std::string points = polyline(f, s);
      if (s.fill) {
        svg += "<polygon points=\"" + num(f.x(s.points.front().first)) + "," + num(f.y(0)) + " " +
               points + num(f.x(s.points.back().first)) + "," + num(f.y(0)) + "\" fill=\"" +
               s.color + "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
      }
      svg += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + s.color +
             "\" stroke-width=\"1.6\"" + (s.dashed ? " stroke-dasharray=\"5,3\"" : "") + "/>\n";
    }
    // Frame, title, legend.
    svg += "<rect x=\"" + num(f.x0) + "\" y=\"" + num(f.y0) + "\" width=\"" + num(f.w) +
           "\" height=\"" + num(f.h) + "\" fill=\"none\" stroke=\"#999\"/>\n";
    svg += "<text transform=\"translate(" + num(f.x0 - 52) + "," + num(f.y0 + f.h / 2) +
           ") rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">" + escape(panel.title) +
           "</text>\n";
    double legend_x = f.x0 + 8;
    for (const auto& s : panel.series) {
      svg += "<line x1=\"" + num(legend_x) + "\" x2=\"" + num(legend_x + 16) + "\" y1=\"" +
             num(f.y0 - 6) + "\" y2=\"" + num(f.y0 - 6) + "\" stroke=\"" + s.color +
             "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"5,3\"" : "") + "/>\n";
      svg += "<text x=\"" + num(legend_x + 20) + "\" y=\"" + num(f.y0 - 2) + "\" fill=\"#222\">" +
             escape(s.name) + "</text>\n";
      legend_x += 28 + 6.5 * static_cast<double>(s.name.size());
    }
    // Time ticks under the last panel.
    if (i == panels - 1) {
      for (double t = 0; t <= t_end + 1e-9; t += t_step) {
        svg += "<text x=\"" + num(f.x(t)) + "\" y=\"" + num(f.y0 + f.h + 16) +
               "\" text-anchor=\"middle\" fill=\"#444\">" + num(t) + "s</text>\n";
      }
      svg += "<text x=\"" + num(f.x0 + f.w / 2) + "\" y=\"" + num(f.y0 + f.h + 36) +
             "\" text-anchor=\"middle\" fill=\"#222\">seconds since the load started</text>\n";
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

Plot demo_plot(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& scales,
               const RunInfo& info) {
  Plot plot;
  plot.title = "lagpilot demo: lag and replicas";
  plot.subtitle =
      "seed " + std::to_string(info.seed) + ", " +
      format_duration(samples.empty() ? 0 : samples.back().t) + ", " + num(info.per_replica_rate) +
      " msg/s per replica, drainTime policy, targetDrainSeconds " + num(info.objective_seconds);
  plot.t_end = std::max(1.0, samples.empty() ? info.duration : samples.back().t);

  PlotSeries arrivals{"arrivals (msg/s)", "#1e88e5", {}, false, false, false};
  PlotSeries processed{"processed (msg/s)", "#43a047", {}, false, false, false};
  PlotSeries lag{"consumer lag (msgs)", "#8e24aa", {}, false, false, true};
  PlotSeries lag_seconds{"lagSeconds", "#fb8c00", {}, false, false, true};
  PlotSeries current{"replicas (spec)", "#3949ab", {}, true, false, false};
  PlotSeries desired{"desired", "#757575", {}, true, true, false};
  PlotSeries ready{"ready", "#00897b", {}, true, false, false};
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
  plot.panels.push_back({"msg/s", {arrivals, processed}, std::nullopt, "", false});
  plot.panels.push_back({"lag (msgs)", {lag}, std::nullopt, "", false});
  plot.panels.push_back({"lagSeconds (s)",
                         {lag_seconds},
                         info.objective_seconds,
                         "objective " + num(info.objective_seconds) + " s",
                         false});
  plot.panels.push_back({"replicas", {current, desired, ready}, std::nullopt, "", true});
  for (const auto& e : scales) {
    plot.markers.push_back({e.t, std::to_string(e.from) + "→" + std::to_string(e.to),
                            e.to > e.from ? "#d81b60" : "#6d4c41"});
  }
  return plot;
}

}  // namespace lagpilot::demo
