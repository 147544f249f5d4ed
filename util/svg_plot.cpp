#include "util/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/xml.h"

namespace lagpilot {
namespace {

constexpr int kLeft = 72;
constexpr int kRight = 150;  // room for the legend
constexpr int kTitleHeight = 44;
constexpr int kSubtitleHeight = 18;
constexpr int kPanelHeight = 140;
constexpr int kPanelGap = 34;
constexpr int kLegendRowHeight = 16;
constexpr const char* kShadeOpacity = "0.15";  // areas under lines and above thresholds
constexpr const char* kThresholdColor = "#d62728";

// "%.1f" without a trailing ".0": 12.0 -> "12", 12.25 -> "12.3".
std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  std::string text = buffer;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  if (text == "-0") text = "0";
  return text;
}

// 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten, at least `value`.
double nice_ceiling(double value) {
  if (!(value > 0)) return 1;
  const double magnitude = std::pow(10, std::floor(std::log10(value)));
  for (double step : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (step * magnitude >= value * (1 - 1e-12)) return step * magnitude;
  }
  return 10 * magnitude;
}

// At most 10 intervals on the time axis.
double time_tick_step(double t_end) {
  for (double step : {1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
                      43200, 86400, 172800, 604800}) {
    if (t_end / step <= 10) return step;
  }
  return 2592000;
}

bool hours_on_axis(double t_end) { return t_end >= 2 * 3600; }

// m:ss, or h:mm on runs of two hours and more.
std::string clock_label(double t, double t_end) {
  const auto whole = static_cast<long long>(std::llround(t));
  char buffer[32];
  if (hours_on_axis(t_end)) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", whole / 3600, whole % 3600 / 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", whole / 60, whole % 60);
  }
  return buffer;
}

std::string attribute(const std::string& name, double value) {
  return " " + name + "=\"" + number(value) + "\"";
}

// 0.75 -> "0.75", 0.7 -> "0.7".
std::string fraction(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string dash(bool dashed) { return dashed ? " stroke-dasharray=\"5,3\"" : ""; }

// Pixel geometry of one panel.
struct Frame {
  double left, top, width, height;
  double t_end, y_top;
  double x(double t) const { return left + width * std::clamp(t / t_end, 0.0, 1.0); }
  double y(double value) const {
    return top + height - height * std::clamp(value / y_top, 0.0, 1.05);
  }
};

// The points to draw: all of them, or per pixel column its lowest and highest (in time order).
std::vector<std::pair<double, double>> visible_points(const Frame& frame,
                                                      const PlotSeries& series) {
  const auto& points = series.points;
  if (points.size() <= static_cast<std::size_t>(frame.width)) return points;
  std::vector<std::pair<double, double>> kept;
  std::size_t first = 0;
  while (first < points.size()) {
    const auto column = static_cast<long>(std::floor(frame.x(points[first].first)));
    std::size_t low = first;
    std::size_t high = first;
    std::size_t end = first;
    while (end < points.size() &&
           static_cast<long>(std::floor(frame.x(points[end].first))) == column) {
      if (points[end].second < points[low].second) low = end;
      if (points[end].second > points[high].second) high = end;
      ++end;
    }
    kept.push_back(points[std::min(low, high)]);
    if (low != high) kept.push_back(points[std::max(low, high)]);
    first = end;
  }
  return kept;
}

std::string polyline_points(const Frame& frame,
                            const std::vector<std::pair<double, double>>& points, bool step) {
  std::string text;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& [t, value] = points[i];
    if (step && i > 0)
      text += number(frame.x(t)) + "," + number(frame.y(points[i - 1].second)) + " ";
    text += number(frame.x(t)) + "," + number(frame.y(value)) + " ";
  }
  if (!text.empty()) text.pop_back();
  return text;
}

class Renderer {
 public:
  explicit Renderer(const Plot& plot)
      : plot_(plot),
        plot_width_(std::max(1, plot.width - kLeft - kRight)),
        first_panel_top_(kTitleHeight + (plot.subtitle.empty() ? 0 : kSubtitleHeight)),
        t_end_(time_end(plot)) {}

  std::string render() {
    std::string body;
    const int panels = static_cast<int>(plot_.panels.size());
    for (int i = 0; i < panels; ++i) body += panel(i);
    const int axis_y = first_panel_top_ + panels * (kPanelHeight + kPanelGap) - kPanelGap + 16;
    body += time_axis(axis_y);
    int footer_y = axis_y + 16 + 26;
    for (const std::string& line : plot_.footer) {
      body += text(kLeft, footer_y, line, "footer");
      footer_y += 18;
    }
    const int height = footer_y + 8 - (plot_.footer.empty() ? 18 : 0);

    std::string svg;
    if (plot_.xml_declaration) svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(plot_.width) +
           "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
           std::to_string(plot_.width) + " " + std::to_string(height) +
           "\" font-family=\"sans-serif\">\n";
    svg +=
        "<style>.title{font-size:15px;font-weight:bold;fill:#111}.subtitle{font-size:12px;"
        "fill:#555}.panel{font-size:13px;font-weight:bold;fill:#222}.ylabel{font-size:11px;"
        "fill:#555;text-anchor:end}.xlabel{font-size:11px;fill:#555;text-anchor:middle}"
        ".legend{font-size:12px;fill:#222}.marker{font-size:10px}.footer{font-size:12px;"
        "fill:#222}.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;stroke:#999;"
        "stroke-width:1}</style>\n";
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += text(kLeft, 20, plot_.title, "title");
    if (!plot_.subtitle.empty()) svg += text(kLeft, 38, plot_.subtitle, "subtitle");
    svg += body;
    svg += "</svg>\n";
    return svg;
  }

 private:
  static double time_end(const Plot& plot) {
    double end = plot.t_end;
    if (end <= 0) {
      for (const auto& panel : plot.panels)
        for (const auto& series : panel.series)
          if (!series.points.empty()) end = std::max(end, series.points.back().first);
    }
    return end > 0 ? end : 1;
  }

  static std::string text(double x, double y, const std::string& content, const std::string& css,
                          const std::string& extra = "") {
    return "<text" + attribute("x", x) + attribute("y", y) + " class=\"" + css + "\"" + extra +
           ">" + xml_escape(content) + "</text>\n";
  }

  // Four grid intervals up to a round number.
  static double y_top(const PlotPanel& panel, double highest) {
    const double top = nice_ceiling(std::max(panel.y_max, highest * 1.05));
    return panel.integer_ticks ? std::ceil(top / 4) * 4 : top;
  }

  std::string panel(int index) {
    const PlotPanel& panel = plot_.panels[static_cast<std::size_t>(index)];
    double highest = panel.threshold.value_or(0);
    for (const auto& series : panel.series)
      for (const auto& point : series.points) highest = std::max(highest, point.second);
    const Frame frame{static_cast<double>(kLeft),
                      static_cast<double>(first_panel_top_ + index * (kPanelHeight + kPanelGap)),
                      static_cast<double>(plot_width_),
                      static_cast<double>(kPanelHeight),
                      t_end_,
                      y_top(panel, highest)};

    std::string svg = "<g>\n";
    svg += text(frame.left, frame.top - 6, panel.title, "panel");
    for (int i = 0; i <= 4; ++i) {
      const double value = frame.y_top * i / 4;
      svg += "<line" + attribute("x1", frame.left) + attribute("x2", frame.left + frame.width) +
             attribute("y1", frame.y(value)) + attribute("y2", frame.y(value)) +
             " class=\"grid\"/>\n";
      svg += text(frame.left - 6, frame.y(value) + 4, short_number(value), "ylabel");
    }
    const double step = time_tick_step(t_end_);
    for (double t = 0; t <= t_end_ + 1e-9; t += step) {
      svg += "<line" + attribute("x1", frame.x(t)) + attribute("x2", frame.x(t)) +
             attribute("y1", frame.top) + attribute("y2", frame.top + frame.height) +
             " class=\"grid\"/>\n";
    }
    if (panel.threshold && panel.shade_above_threshold && !panel.series.empty()) {
      svg += shade_above(frame, panel.series.front().points, *panel.threshold);
    }
    svg += markers(frame, index == static_cast<int>(plot_.panels.size()) - 1);
    for (auto series = panel.series.rbegin(); series != panel.series.rend(); ++series) {
      svg += line(frame, *series);
    }
    if (panel.threshold) {
      svg += "<line" + attribute("x1", frame.left) + attribute("x2", frame.left + frame.width) +
             attribute("y1", frame.y(*panel.threshold)) +
             attribute("y2", frame.y(*panel.threshold)) + " stroke=\"" + kThresholdColor +
             "\" stroke-width=\"1.2\" stroke-dasharray=\"6,4\"/>\n";
    }
    svg += "<rect" + attribute("x", frame.left) + attribute("y", frame.top) +
           attribute("width", frame.width) + attribute("height", frame.height) +
           " class=\"frame\"/>\n";
    int row = 0;
    for (const auto& series : panel.series) {
      if (!series.name.empty())
        svg += legend(frame, row++, series.name, series.color, series.dashed);
    }
    if (panel.threshold && !panel.threshold_label.empty()) {
      svg += legend(frame, row, panel.threshold_label, kThresholdColor, true);
    }
    svg += "</g>\n";
    return svg;
  }

  // A point (t, v) stands for the time since the point before it (or since 0).
  static std::string shade_above(const Frame& frame,
                                 const std::vector<std::pair<double, double>>& points,
                                 double threshold) {
    std::string svg;
    std::optional<double> span_start;
    double previous_t = 0;
    for (std::size_t i = 0; i <= points.size(); ++i) {
      const bool above = i < points.size() && points[i].second > threshold;
      if (above && !span_start) span_start = previous_t;
      if (!above && span_start) {
        svg += "<rect" + attribute("x", frame.x(*span_start)) + attribute("y", frame.top) +
               attribute("width", std::max(0.8, frame.x(previous_t) - frame.x(*span_start))) +
               attribute("height", frame.height) + " fill=\"" + kThresholdColor +
               "\" fill-opacity=\"" + kShadeOpacity + "\"/>\n";
        span_start.reset();
      }
      if (i < points.size()) previous_t = points[i].first;
    }
    return svg;
  }

  // Dashed verticals in every panel; the labels in the last one, a row lower when they would
  // overlap the label before.
  std::string markers(const Frame& frame, bool with_labels) const {
    std::string svg;
    std::vector<double> row_end(4, -1e9);
    for (const auto& marker : plot_.markers) {
      if (marker.t < 0 || marker.t > t_end_) continue;
      svg += "<line" + attribute("x1", frame.x(marker.t)) + attribute("x2", frame.x(marker.t)) +
             attribute("y1", frame.top) + attribute("y2", frame.top + frame.height) + " stroke=\"" +
             marker.color + "\" stroke-dasharray=\"2,3\" stroke-opacity=\"0.8\"/>\n";
      if (!with_labels) continue;
      const double x = frame.x(marker.t) + 2;
      std::size_t row = 0;
      while (row + 1 < row_end.size() && row_end[row] > x) ++row;
      row_end[row] = x + 6.0 * static_cast<double>(marker.label.size()) + 4;
      svg += text(x, frame.top + 11 + 11 * static_cast<double>(row), marker.label, "marker",
                  " fill=\"" + marker.color + "\"");
    }
    return svg;
  }

  static std::string line(const Frame& frame, const PlotSeries& series) {
    if (series.points.empty()) return "";
    const auto points = visible_points(frame, series);
    const std::string coordinates = polyline_points(frame, points, series.step);
    std::string svg;
    if (series.fill) {
      svg += "<polygon points=\"" + number(frame.x(points.front().first)) + "," +
             number(frame.y(0)) + " " + coordinates + " " + number(frame.x(points.back().first)) +
             "," + number(frame.y(0)) + "\" fill=\"" + series.color + "\"" + " fill-opacity=\"" +
             kShadeOpacity + "\" stroke=\"none\"/>\n";
    }
    svg += "<polyline points=\"" + coordinates + "\" fill=\"none\" stroke=\"" + series.color +
           "\"" + attribute("stroke-width", series.stroke_width) +
           (series.opacity < 1 ? " stroke-opacity=\"" + fraction(series.opacity) + "\"" : "") +
           dash(series.dashed) + "/>\n";
    return svg;
  }

  std::string legend(const Frame& frame, int row, const std::string& label,
                     const std::string& color, bool dashed) const {
    const double y = frame.top + 10 + kLegendRowHeight * row;
    const double x = frame.left + frame.width + 12;
    return "<line" + attribute("x1", x) + attribute("x2", x + 22) + attribute("y1", y) +
           attribute("y2", y) + " stroke=\"" + color + "\" stroke-width=\"2\"" + dash(dashed) +
           "/>\n" + text(x + 28, y + 4, label, "legend");
  }

  std::string time_axis(int y) const {
    std::string svg;
    const Frame axis{static_cast<double>(kLeft), 0, static_cast<double>(plot_width_), 0, t_end_, 1};
    const double step = time_tick_step(t_end_);
    for (double t = 0; t <= t_end_ + 1e-9; t += step) {
      svg += text(axis.x(t), y, clock_label(t, t_end_), "xlabel");
    }
    svg += text(kLeft + plot_width_, y + 16,
                plot_.time_label + (hours_on_axis(t_end_) ? " (h:mm)" : " (m:ss)"), "ylabel");
    return svg;
  }

  const Plot& plot_;
  int plot_width_;
  int first_panel_top_;
  double t_end_;
};

}  // namespace

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

std::string render_svg(const Plot& plot) { return Renderer(plot).render(); }

}  // namespace lagpilot
