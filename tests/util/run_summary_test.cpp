#include "util/run_summary.h"

#include <gtest/gtest.h>

namespace lagpilot {
namespace {

TEST(RunSummary, IntegratesIntervalsOfAnyLength) {
  RunSummaryBuilder builder(10);
  builder.add_interval(1, 2, 100, 5);
  builder.add_interval(0.5, 4, 900, 12);  // behind for half a second
  builder.add_interval(2.5, 4, std::nullopt, std::nullopt);
  builder.add_interval(1, 1, 50, 11);
  const RunSummary summary = builder.summary();
  EXPECT_DOUBLE_EQ(summary.duration, 5);
  EXPECT_DOUBLE_EQ(summary.objective_seconds, 10);
  EXPECT_DOUBLE_EQ(summary.violation_seconds, 1.5);
  EXPECT_DOUBLE_EQ(summary.replica_seconds, 2 + 2 + 10 + 1);
  EXPECT_DOUBLE_EQ(summary.mean_replicas, 15.0 / 5);
  EXPECT_EQ(summary.peak_replicas, 4);
  EXPECT_DOUBLE_EQ(summary.max_lag, 900);
  EXPECT_DOUBLE_EQ(summary.max_lag_seconds, 12);
}

TEST(RunSummary, CountsChangesOfReplicas) {
  RunSummaryBuilder builder(60);
  builder.add_scaling(1, 4);
  builder.add_scaling(4, 4);  // not a change
  builder.add_scaling(4, 2);
  builder.add_scaling(2, 3);
  const RunSummary summary = builder.summary();
  EXPECT_EQ(summary.scaling_actions, 3);
  EXPECT_EQ(summary.scale_ups, 2);
  EXPECT_EQ(summary.scale_downs, 1);
  EXPECT_DOUBLE_EQ(summary.mean_replicas, 0);  // no time summarised
}

TEST(RunSummary, AtTheObjectiveIsNotInViolation) {
  RunSummaryBuilder builder(10);
  builder.add_interval(1, 1, 0, 10);
  EXPECT_DOUBLE_EQ(builder.summary().violation_seconds, 0);
}

}  // namespace
}  // namespace lagpilot
