#include "sim/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "sim/report.h"
#include "util/xml.h"

namespace lagpilot::sim {
namespace {

constexpr int kLeft = 72;
constexpr int kRight = 150;  // room for the legend
constexpr int kTop = 44;
constexpr int kPanelHeight = 140;
constexpr int kPanelGap = 34;

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string escape(const std::string& text) { return xml_escape(text); }

double nice_ceiling(double value) {
  if (!(value > 0)) return 1;
  const double magnitude = std::pow(10, std::floor(std::log10(value)));
  for (double step : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (step * magnitude >= value * (1 - 1e-12)) return step * magnitude;
  }
  return 10 * magnitude;
}

std::string short_number(double value) {
  char buffer[32];
  if (value >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%gM", std::round(value / 1e5) / 10);
  } else if (value >= 1e3) {
    std::snprintf(buffer, sizeof buffer, "%gk", std::round(value / 1e2) / 10);
  } else {
    std::snprintf(buffer, sizeof buffer, "%g", std::round(value * 10) / 10);
  }
  return buffer;
}

std::int64_t tick_step(std::int64_t duration) {
  for (std::int64_t step : {10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                            86400, 172800, 604800}) {
    if (duration / step <= 10) return step;
  }
  return 2592000;
}

std::string clock_label(std::int64_t t, std::int64_t duration) {
  char buffer[32];
  if (duration >= 2 * 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  }
  return buffer;
}

class Plot {
 public:
  Plot(int width, std::int64_t duration)
      : plot_width_(width - kLeft - kRight), duration_(std::max<std::int64_t>(duration, 1)) {}

  double x(double t) const { return kLeft + plot_width_ * t / static_cast<double>(duration_); }

  // A panel at index `index`: frame, grid, y labels, title. Returns its y scale.
  std::function<double(double)> panel(int index, const std::string& title, double max_value) {
    const int top = kTop + index * (kPanelHeight + kPanelGap);
    const double max = nice_ceiling(max_value);
    svg_ += "<text x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(top - 6) +
            "\" class=\"panel\">" + escape(title) + "</text>\n";
    for (int i = 0; i <= 4; ++i) {
      const double value = max * i / 4;
      const double y = top + kPanelHeight - kPanelHeight * i / 4.0;
      svg_ += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" +
              std::to_string(kLeft + plot_width_) + "\" y1=\"" + number(y) + "\" y2=\"" +
              number(y) + "\" class=\"grid\"/>\n";
      svg_ += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + number(y + 4) +
              "\" class=\"ylabel\">" + short_number(value) + "</text>\n";
    }
    const std::int64_t step = tick_step(duration_);
    for (std::int64_t t = 0; t <= duration_; t += step) {
      svg_ += "<line x1=\"" + number(x(static_cast<double>(t))) + "\" x2=\"" +
              number(x(static_cast<double>(t))) + "\" y1=\"" + std::to_string(top) + "\" y2=\"" +
              std::to_string(top + kPanelHeight) + "\" class=\"grid\"/>\n";
    }
    svg_ += "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(top) + "\" width=\"" +
            std::to_string(plot_width_) + "\" height=\"" + std::to_string(kPanelHeight) +
            "\" class=\"frame\"/>\n";
    legend_row_ = 0;
    legend_top_ = top;
    return [top, max](double value) {
      return top + kPanelHeight - kPanelHeight * std::clamp(value / max, 0.0, 1.05);
    };
  }

  // A line through values[t], reduced to a min/max pair per pixel column.
  void line(const std::vector<double>& values, const std::function<double(double)>& y,
            const std::string& color, const std::string& style) {
    const std::size_t n = values.size();
    if (n == 0) return;
    const std::size_t buckets = std::min<std::size_t>(n, static_cast<std::size_t>(plot_width_));
    std::string path;
    for (std::size_t b = 0; b < buckets; ++b) {
      const std::size_t first = b * n / buckets;
      const std::size_t last = std::max(first + 1, (b + 1) * n / buckets);
      std::size_t low = first;
      std::size_t high = first;
      for (std::size_t i = first; i < last; ++i) {
        if (values[i] < values[low]) low = i;
        if (values[i] > values[high]) high = i;
      }
      const double px = x(static_cast<double>(first) + 0.5 * static_cast<double>(last - first));
      for (std::size_t i : {std::min(low, high), std::max(low, high)}) {
        path += (path.empty() ? "M" : " L") + number(px) + "," + number(y(values[i]));
        if (low == high) break;
      }
    }
    svg_ += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + color + "\" " + style + "/>\n";
  }

  void hline(double value, const std::function<double(double)>& y, const std::string& color) {
    svg_ += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" +
            std::to_string(kLeft + plot_width_) + "\" y1=\"" + number(y(value)) + "\" y2=\"" +
            number(y(value)) + "\" stroke=\"" + color +
            "\" stroke-width=\"1.2\" stroke-dasharray=\"6,4\"/>\n";
  }

  void band(double from, double to, int panel_index, const std::string& color) {
    const int top = kTop + panel_index * (kPanelHeight + kPanelGap);
    svg_ += "<rect x=\"" + number(x(from)) + "\" y=\"" + std::to_string(top) + "\" width=\"" +
            number(std::max(0.8, x(to) - x(from))) + "\" height=\"" + std::to_string(kPanelHeight) +
            "\" fill=\"" + color + "\" fill-opacity=\"0.15\"/>\n";
  }

  void legend(const std::string& label, const std::string& color, bool dashed) {
    const int y = legend_top_ + 10 + 16 * legend_row_++;
    const int x0 = kLeft + plot_width_ + 12;
    svg_ += "<line x1=\"" + std::to_string(x0) + "\" x2=\"" + std::to_string(x0 + 22) + "\" y1=\"" +
            std::to_string(y) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"" + color +
            "\" stroke-width=\"2\"" + (dashed ? " stroke-dasharray=\"5,3\"" : "") + "/>\n";
    svg_ += "<text x=\"" + std::to_string(x0 + 28) + "\" y=\"" + std::to_string(y + 4) +
            "\" class=\"legend\">" + escape(label) + "</text>\n";
  }

  void time_axis(int panels) {
    const int y = kTop + panels * (kPanelHeight + kPanelGap) - kPanelGap + 16;
    const std::int64_t step = tick_step(duration_);
    for (std::int64_t t = 0; t <= duration_; t += step) {
      svg_ += "<text x=\"" + number(x(static_cast<double>(t))) + "\" y=\"" + std::to_string(y) +
              "\" class=\"xlabel\">" + clock_label(t, duration_) + "</text>\n";
    }
    svg_ += "<text x=\"" + std::to_string(kLeft + plot_width_) + "\" y=\"" +
            std::to_string(y + 16) + "\" class=\"ylabel\">simulated time (" +
            (duration_ >= 2 * 3600 ? "h:mm" : "m:ss") + ")</text>\n";
  }

  void text(int x_position, int y, const std::string& content, const std::string& css) {
    svg_ += "<text x=\"" + std::to_string(x_position) + "\" y=\"" + std::to_string(y) +
            "\" class=\"" + css + "\">" + escape(content) + "</text>\n";
  }

  std::string& body() { return svg_; }

 private:
  int plot_width_;
  std::int64_t duration_;
  std::string svg_;
  int legend_row_ = 0;
  int legend_top_ = 0;
};

std::vector<double> column(const SimulationResult& result,
                           const std::function<double(const SecondRecord&)>& get) {
  std::vector<double> values;
  values.reserve(result.series.size());
  for (const SecondRecord& record : result.series) values.push_back(get(record));
  return values;
}

double maximum(const std::vector<double>& values) {
  double most = 0;
  for (double value : values) most = std::max(most, value);
  return most;
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
  const auto duration = static_cast<std::int64_t>(first.series.size());
  const bool single = results.size() == 1;
  Plot plot(options.width, duration);
  constexpr int kPanels = 4;
  // The first result (lagpilot, in comparisons) is drawn last, on top; the others thinner.
  const std::vector<const SimulationResult*> back_to_front(results.rbegin(), results.rend());
  auto style = [&](const SimulationResult* result) -> std::string {
    return result == results.front() ? "stroke-width=\"1.6\""
                                     : "stroke-width=\"1.1\" stroke-opacity=\"0.75\"";
  };

  // Arrivals (and, for one run, what was processed).
  const auto arrivals = column(first, [](const SecondRecord& r) { return r.arrivals; });
  auto y = plot.panel(0, "arrivals (msg/s)", maximum(arrivals) * 1.05);
  if (single) {
    plot.line(column(first, [](const SecondRecord& r) { return r.processed; }), y, "#9467bd",
              "stroke-width=\"1\" stroke-opacity=\"0.7\"");
  }
  plot.line(arrivals, y, "#333333", "stroke-width=\"1.4\"");
  plot.legend("arrivals", "#333333", false);
  if (single) plot.legend("processed", "#9467bd", false);

  // Lag in messages.
  double most = 0;
  for (const auto* result : results) {
    most = std::max(most, result->summary.max_lag);
  }
  y = plot.panel(1, "lag (msgs)", most * 1.05);
  for (const auto* result : back_to_front) {
    plot.line(column(*result, [](const SecondRecord& r) { return r.lag; }), y,
              policy_color(result->policy), style(result));
  }
  for (const auto* result : results)
    plot.legend(result->policy, policy_color(result->policy), false);

  // lagSeconds against the objective.
  most = options.objective_seconds * 1.25;
  for (const auto* result : results) most = std::max(most, result->summary.max_lag_seconds);
  y = plot.panel(2, "lagSeconds (s) — objective dashed", most * 1.05);
  if (single && options.objective_seconds > 0) {
    std::int64_t start = -1;
    for (std::int64_t t = 0; t <= duration; ++t) {
      const bool violating = t < duration && first.series[static_cast<std::size_t>(t)].lag_seconds >
                                                 options.objective_seconds;
      if (violating && start < 0) start = t;
      if (!violating && start >= 0) {
        plot.band(static_cast<double>(start), static_cast<double>(t), 2, "#d62728");
        start = -1;
      }
    }
  }
  for (const auto* result : back_to_front) {
    plot.line(column(*result, [](const SecondRecord& r) { return r.lag_seconds; }), y,
              policy_color(result->policy), style(result));
  }
  for (const auto* result : results)
    plot.legend(result->policy, policy_color(result->policy), false);
  if (options.objective_seconds > 0) {
    plot.hline(options.objective_seconds, y, "#d62728");
    plot.legend("objective " + short_number(options.objective_seconds) + " s", "#d62728", true);
  }

  // Replicas.
  most = 1;
  for (const auto* result : results) most = std::max<double>(most, result->summary.peak_replicas);
  y = plot.panel(3, "replicas", most * 1.1);
  for (const auto* result : back_to_front) {
    if (single) {
      plot.line(column(*result, [](const SecondRecord& r) { return r.replicas_current; }), y,
                "#8c564b", "stroke-width=\"1.2\" stroke-dasharray=\"4,3\"");
    }
    plot.line(column(*result, [](const SecondRecord& r) { return r.replicas_desired; }), y,
              policy_color(result->policy), style(result));
  }
  for (const auto* result : results) {
    plot.legend(single ? "desired" : result->policy, policy_color(result->policy), false);
  }
  if (single) plot.legend("consuming", "#8c564b", true);
  plot.time_axis(kPanels);

  // Footer: the numbers people compare.
  int footer = kTop + kPanels * (kPanelHeight + kPanelGap) + 24;
  for (const auto* result : results) {
    const Summary& s = result->summary;
    plot.text(kLeft, footer,
              result->policy + ": " + thousands(static_cast<double>(s.violation_seconds)) +
                  " s in violation, " + thousands(s.replica_seconds) + " replica-seconds, " +
                  std::to_string(s.scaling_actions) + " scaling actions, max lagSeconds " +
                  short_number(s.max_lag_seconds) + " s",
              "footer");
    footer += 18;
  }

  const int height = footer + 8;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(options.width) + "\" height=\"" + std::to_string(height) +
                    "\" viewBox=\"0 0 " + std::to_string(options.width) + " " +
                    std::to_string(height) + "\" font-family=\"sans-serif\">\n";
  svg +=
      "<style>.panel{font-size:13px;font-weight:bold;fill:#222}.ylabel{font-size:11px;"
      "fill:#555;text-anchor:end}.xlabel{font-size:11px;fill:#555;text-anchor:middle}"
      ".legend{font-size:12px;fill:#222}.footer{font-size:12px;fill:#222}.title{font-size:15px;"
      "font-weight:bold;fill:#111}.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;"
      "stroke:#999;stroke-width:1}</style>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + std::to_string(kLeft) + "\" y=\"20\" class=\"title\">" +
         escape(options.title) + "</text>\n";
  svg += plot.body();
  svg += "</svg>\n";
  return svg;
}

}  // namespace lagpilot::sim
