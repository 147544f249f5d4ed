#include "sim/reaction_bound.h"

#include <gtest/gtest.h>

#include <vector>

namespace lagpilot::sim {
namespace {

// `members` ready all along; arrivals `base` msg/s, `peak` from `at` on.
std::vector<SecondRecord> run(double base, double peak, std::int64_t at, int members,
                              std::int64_t seconds) {
  std::vector<SecondRecord> series(static_cast<std::size_t>(seconds));
  for (std::int64_t t = 0; t < seconds; ++t) {
    auto& record = series[static_cast<std::size_t>(t)];
    record.time = t;
    record.arrivals = t < at ? base : peak;
    record.replicas_current = members;
    record.replicas_desired = members;
  }
  return series;
}

// 400 msg/s per replica, D = 60 s, 24 consumers, objective 30 s, polls every 10 s.
constexpr ReactionBoundInputs kInputs{.service_rate = 400,
                                      .startup_delay = 60,
                                      .max_consumers = 24,
                                      .objective_seconds = 30,
                                      .poll_interval = 10};

TEST(ReactionBound, NoneWhenTheRunKeepsUp) {
  EXPECT_EQ(reaction_bound_violation_seconds(run(1'000, 1'000, 100, 3, 400), kInputs), 0);
}

TEST(ReactionBound, AStepCountsTheSecondsBeforeAReactionCanWork) {
  // 1,000 -> 3,000 msg/s at 100 s on 3 replicas (1,200 msg/s). The poll at 110 s sees the
  // backlog (the one at 100 s saw 1,000 msg/s, within capacity); all 24 consumers (9,600 msg/s)
  // work from 170 s. Consumed by x: 1,200 (x - 100) until 170, then 84,000 + 9,600 (x - 170);
  // due by x: 3,000 (x - 130). Behind for 150 < x < 175.45: the seconds ending at 151..175.
  EXPECT_EQ(reaction_bound_violation_seconds(run(1'000, 3'000, 100, 3, 400), kInputs), 25);
}

TEST(ReactionBound, AFasterStartUpLeavesNone) {
  // The same step with D = 5 s: all consumers from 115 s, long before the first message is due
  // (130 s).
  ReactionBoundInputs fast = kInputs;
  fast.startup_delay = 5;
  EXPECT_EQ(reaction_bound_violation_seconds(run(1'000, 3'000, 100, 3, 400), fast), 0);
}

}  // namespace
}  // namespace lagpilot::sim
