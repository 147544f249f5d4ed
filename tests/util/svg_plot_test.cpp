#include "util/svg_plot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lagpilot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

PlotSeries ramp(const std::string& name, int points) {
  PlotSeries series{.name = name, .color = "#123456"};
  for (int t = 1; t <= points; ++t) series.points.emplace_back(t, t);
  return series;
}

TEST(SvgPlot, DocumentWithTitlesLegendAndFooter) {
  Plot plot;
  plot.title = "a <b> & c";
  plot.subtitle = "seed 1";
  plot.panels.push_back({.title = "lag (msgs)", .series = {ramp("lagpilot", 10), ramp("", 10)}});
  plot.footer = {"lagpilot: 3 s in violation"};
  const std::string svg = render_svg(plot);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_THAT(svg, HasSubstr(">a &lt;b&gt; &amp; c</text>"));
  EXPECT_THAT(svg, HasSubstr(">seed 1</text>"));
  EXPECT_THAT(svg, HasSubstr(">lag (msgs)</text>"));
  EXPECT_THAT(svg, HasSubstr(">lagpilot</text>"));
  EXPECT_THAT(svg, HasSubstr(">lagpilot: 3 s in violation</text>"));
  EXPECT_EQ(count(svg, "class=\"legend\""), 1u);  // the unnamed series has no legend entry
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  EXPECT_EQ(count(svg, "<g>"), count(svg, "</g>"));

  plot.xml_declaration = true;
  EXPECT_EQ(render_svg(plot).rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg", 0), 0u);
}

TEST(SvgPlot, TimeAxisInMinutesOrHours) {
  Plot plot;
  plot.time_label = "simulated time";
  plot.panels.push_back({.title = "x", .series = {ramp("x", 600)}});
  std::string svg = render_svg(plot);
  EXPECT_THAT(svg, HasSubstr(">10:00</text>"));
  EXPECT_THAT(svg, HasSubstr(">simulated time (m:ss)</text>"));
  plot.t_end = 4 * 3600;
  svg = render_svg(plot);
  EXPECT_THAT(svg, HasSubstr(">4:00</text>"));
  EXPECT_THAT(svg, HasSubstr(">simulated time (h:mm)</text>"));
}

TEST(SvgPlot, LongSeriesKeepEachColumnsPeakAndStaySmall) {
  PlotSeries flat{.name = "lag", .color = "#000000"};
  for (int t = 1; t <= 86400; ++t) flat.points.emplace_back(t, t == 43200 ? 1000 : 10);
  Plot plot;
  plot.panels.push_back({.title = "lag", .series = {flat}});
  const std::string svg = render_svg(plot);
  EXPECT_LT(svg.size(), 60000u);
  // The y axis is scaled to the single peak, and the peak is drawn: its y is the panel's top area.
  EXPECT_THAT(svg, HasSubstr("class=\"ylabel\">1.5k</text>"));
  const auto points_start = svg.find("<polyline points=\"") + 18;
  const std::string points = svg.substr(points_start, svg.find('"', points_start) - points_start);
  double lowest_y = 1e9;
  for (std::size_t comma = points.find(','); comma != std::string::npos;
       comma = points.find(',', comma + 1)) {
    lowest_y = std::min(lowest_y, std::stod(points.substr(comma + 1)));
  }
  EXPECT_LT(lowest_y, 100);  // 1000 of 1500 in the panel from y 44 to 184 (10 would be at 183)
}

TEST(SvgPlot, ThresholdLineLegendAndOneShadeFromTheFirstSeries) {
  PlotSeries lag_seconds{.name = "lagSeconds", .color = "#fb8c00"};
  for (int t = 1; t <= 10; ++t) lag_seconds.points.emplace_back(t, t >= 4 && t <= 6 ? 20 : 1);
  PlotPanel panel{.title = "lagSeconds (s)",
                  .series = {lag_seconds},
                  .threshold = 10.0,
                  .threshold_label = "objective 10 s",
                  .shade_above_threshold = true};
  Plot plot;
  plot.panels.push_back(panel);
  std::string svg = render_svg(plot);
  EXPECT_THAT(svg, HasSubstr(">objective 10 s</text>"));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray=\"6,4\""));
  EXPECT_EQ(count(svg, "fill=\"#d62728\" fill-opacity=\"0.15\""), 1u);  // seconds 3..6, merged

  plot.panels[0].shade_above_threshold = false;
  svg = render_svg(plot);
  EXPECT_THAT(svg, Not(HasSubstr("fill-opacity")));
}

TEST(SvgPlot, IntegerTicksAndCloseMarkersOnSeparateRows) {
  PlotSeries replicas{.name = "replicas", .color = "#3949ab"};
  replicas.step = true;
  replicas.points = {{0, 1}, {5, 4}, {10, 2}};
  PlotPanel panel{.title = "replicas", .series = {replicas}};
  panel.integer_ticks = true;
  Plot plot;
  plot.panels.push_back(panel);
  plot.markers = {{.t = 5.0, .label = "2→3", .color = "#d81b60"},
                  {.t = 5.2, .label = "3→6", .color = "#d81b60"}};
  const std::string svg = render_svg(plot);
  for (const char* tick : {"2", "4", "6", "8"}) {
    EXPECT_THAT(svg, HasSubstr("class=\"ylabel\">" + std::string(tick) + "</text>"));
  }
  EXPECT_THAT(svg, Not(HasSubstr("class=\"ylabel\">2.5</text>")));
  auto label_y = [&](const std::string& label) {
    const auto end = svg.find(">" + label + "</text>");
    const auto tag = svg.rfind("<text", end);
    const auto y = svg.find(" y=\"", tag) + 4;
    return svg.substr(y, svg.find('"', y) - y);
  };
  EXPECT_NE(label_y("2→3"), label_y("3→6"));
}

TEST(SvgPlot, ShortNumbers) {
  EXPECT_EQ(short_number(950), "950");
  EXPECT_EQ(short_number(59.98), "60");
  EXPECT_EQ(short_number(12.25), "12.3");
  EXPECT_EQ(short_number(12345), "12.3k");
  EXPECT_EQ(short_number(2500000), "2.5M");
}

}  // namespace
}  // namespace lagpilot
