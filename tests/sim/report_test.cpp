#include "sim/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "sim/svg_plot.h"

namespace lagpilot::sim {
namespace {

using ::testing::HasSubstr;

SimulationResult sample(const std::string& policy) {
  SimulationResult result;
  result.policy = policy;
  result.trace = "step";
  for (int t = 0; t < 3000; ++t) {
    result.series.push_back(SecondRecord{.time = t,
                                         .arrivals = t < 1000 ? 1000.0 : 3000.0,
                                         .processed = 1000,
                                         .lag = t * 10.0,
                                         .lag_seconds = t / 50.0,
                                         .replicas_current = 3,
                                         .replicas_desired = t < 1500 ? 3 : 5,
                                         .rebalancing = t == 7});
  }
  result.summary.duration = 3000;
  result.summary.objective_seconds = 30;
  result.summary.violation_seconds = 1499;
  result.summary.replica_seconds = 12000;
  result.summary.mean_replicas = 4;
  result.summary.peak_replicas = 5;
  result.summary.max_lag = 29990;
  result.summary.max_lag_seconds = 59.98;
  result.summary.scaling_actions = 1;
  result.summary.scale_ups = 1;
  return result;
}

TEST(Report, CsvHasOneRowPerSecond) {
  std::ostringstream out;
  write_series_csv(out, sample("lagpilot"));
  std::istringstream lines(out.str());
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header,
            "time,arrivals,processed,lag,lagSeconds,replicasCurrent,replicasDesired,rebalancing");
  std::string row;
  int rows = 0;
  std::string seventh;
  while (std::getline(lines, row)) {
    if (rows == 7) seventh = row;
    ++rows;
  }
  EXPECT_EQ(rows, 3000);
  EXPECT_EQ(seventh, "7,1000.0,1000.0,70,0.14,3,3,1");
}

TEST(Report, SummaryAndTable) {
  const std::string summary = format_summary(sample("lagpilot"));
  EXPECT_THAT(summary, HasSubstr("violation        1,499 s (50.0 % of 50m, lagSeconds > 30 s)"));
  EXPECT_THAT(summary, HasSubstr("replica-seconds  12,000 (mean 4.00 replicas, peak 5)"));
  EXPECT_THAT(summary, HasSubstr("max lag          29,990 msgs"));
  EXPECT_THAT(summary, HasSubstr("max lagSeconds   60.0 s"));
  EXPECT_THAT(summary, HasSubstr("scaling actions  1 (1 up, 0 down)"));
  const std::string table = format_results_table({sample("lagpilot"), sample("seed")});
  EXPECT_THAT(table, HasSubstr("| step | lagpilot | 1,499 | 12,000 | 29,990 | 60.0 | 1 |"));
  EXPECT_THAT(table, HasSubstr("| step | seed |"));
  EXPECT_EQ(thousands(1234567.4), "1,234,567");
  EXPECT_EQ(thousands(-1000), "-1,000");
  EXPECT_EQ(thousands(999), "999");
}

TEST(Report, ReplicaSecondsAsAMultipleOfTheOracleBound) {
  SimulationResult bounded = sample("lagpilot");
  bounded.oracle_replica_seconds = 9600;
  EXPECT_THAT(format_summary(bounded),
              HasSubstr("replica-seconds  12,000 (1.25x the oracle bound 9,600; mean 4.00 "
                        "replicas, peak 5)"));
  const std::string table = format_results_table({bounded, sample("seed")});
  EXPECT_THAT(table, HasSubstr("| replica-s | vs oracle | max lag |"));
  EXPECT_THAT(table, HasSubstr("|---|---|---:|---:|---:|---:|---:|---:|\n"));
  EXPECT_THAT(table, HasSubstr("| step | lagpilot | 1,499 | 12,000 | 1.25x of 9,600 | 29,990 |"));
  EXPECT_THAT(table, HasSubstr("| step | seed | 1,499 | 12,000 | - | 29,990 |"));
  OracleBound bound;
  bound.replica_seconds = 64847.2;
  bound.consuming_seconds = 64650;
  bound.startup_seconds = 197.2;
  bound.block_seconds = 4;
  EXPECT_EQ(format_oracle_bound(bound),
            "no schedule with zero violations costs less than 64,847 replica-seconds (64,650 "
            "consuming + 197 starting up; blocks of 4s)");
  bound.feasible = false;
  bound.why_infeasible = "too much";
  EXPECT_EQ(format_oracle_bound(bound), "no schedule meets the objective: too much");
  EXPECT_EQ(oracle_ratio(100, std::nullopt), "-");
  EXPECT_EQ(oracle_ratio(100, 0.0), "-");
  EXPECT_EQ(oracle_ratio(131, 100.0), "1.31x");
}

TEST(SvgPlot, DrawsEveryPanelAndStaysSmall) {
  const SimulationResult one = sample("lagpilot");
  const std::string svg =
      render_svg({&one}, PlotOptions{.title = "a <b> & c", .objective_seconds = 30});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>\n"));
  EXPECT_THAT(svg, HasSubstr("a &lt;b&gt; &amp; c"));
  for (const char* panel : {"arrivals (msg/s)", "lag (msgs)", "lagSeconds (s)", "replicas"}) {
    EXPECT_THAT(svg, HasSubstr(panel));
  }
  EXPECT_THAT(svg, HasSubstr("objective 30 s"));
  EXPECT_THAT(svg, HasSubstr("fill-opacity=\"0.15\""));  // the violation band
  EXPECT_THAT(svg, HasSubstr("lagpilot: 1,499 s in violation"));
  EXPECT_LT(svg.size(), 200000u);

  const SimulationResult two = sample("hpa-keda");
  const std::string both = render_svg({&one, &two}, PlotOptions{.title = "x"});
  EXPECT_THAT(both, HasSubstr(policy_color("hpa-keda")));
  EXPECT_THAT(both, HasSubstr("hpa-keda: 1,499 s in violation"));
  EXPECT_EQ(render_svg({}, PlotOptions{}), "");
}

}  // namespace
}  // namespace lagpilot::sim
