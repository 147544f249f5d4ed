#include "alerts/monitor_alerting.h"

#include <gtest/gtest.h>

#include "alerts/status_json.h"
#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;
using testing::at;

MonitorContext context() {
  MonitorContext context;
  context.ns = "shop";
  context.name = "orders";
  context.topic = "orders";
  context.queue = "orders";
  context.target_drain_seconds = 60;
  context.poll_interval_seconds = 10;
  context.source_failure_threshold = 3;
  return context;
}

Json freshness_slo(double objective = 99.9, int window_days = 30) {
  return {{"name", "freshness"},
          {"metric", "lagSeconds"},
          {"goodWhen", {{"op", "<="}, {"threshold", 30}}},
          {"objectivePercent", objective},
          {"windowDays", window_days}};
}

MetricSample healthy_sample(double lag = 10, double lag_seconds = 1) {
  MetricSample sample;
  sample.set("consumerLag", lag).set("queueDepth", lag).set("lagSeconds", lag_seconds);
  sample.set("consumers", 3).set("replicas", 3).set("partitions", 12);
  return sample;
}

MetricSample unreachable_sample() {
  MetricSample sample;
  sample.source_reachable = false;
  sample.source_error = "all brokers down";
  return sample;
}

std::vector<std::string> rule_names(const MonitorAlerting& alerting) {
  std::vector<std::string> names;
  for (const auto& rule : alerting.rules()) names.push_back(rule.name);
  return names;
}

TEST(MonitorAlerting, ConfigureKeepsTheValidRulesAndReportsEachBadOne) {
  const Json spec = {
      {"alertsPreset", "default"},
      {"alerts",
       Json::array({{{"name", "Mine"}, {"metric", "lagSeconds"}, {"op", ">"}, {"threshold", 5}},
                    {{"name", "Typo"}, {"metric", "lagg"}, {"op", ">"}, {"threshold", 5}}})},
      {"slos", Json::array({freshness_slo(), {{"name", "broken"}}})}};
  MonitorAlerting alerting;
  const ConfigureReport report = alerting.configure(spec, context());
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].message.rfind("spec.alerts[1].metric: unknown metric \"lagg\"", 0),
            0u);
  EXPECT_EQ(report.errors[1].message, "spec.slos[1].metric: required");
  EXPECT_EQ(report.message(), report.errors[0].message + "; " + report.errors[1].message);
  EXPECT_EQ(rule_names(alerting),
            (std::vector<std::string>{"Mine", "ConsumerLagHigh", "ConsumerLagCritical",
                                      "LagSecondsHigh", "ConsumerGroupEmpty", "SourceUnreachable",
                                      "ScaledToMaxWithGrowingLag", "freshness-burn-page",
                                      "freshness-burn-ticket"}));
}

TEST(MonitorAlerting, ASpecRuleReplacesThePresetRuleOfTheSameName) {
  const Json spec = {{"alertsPreset", "default"},
                     {"alerts", Json::array({{{"name", "ConsumerLagCritical"},
                                              {"metric", "consumerLag"},
                                              {"op", ">"},
                                              {"threshold", 50000},
                                              {"severity", "high"}}})}};
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure(spec, context()).ok());
  EXPECT_EQ(alerting.rules().size(), 6u);
  EXPECT_EQ(alerting.rules()[0].name, "ConsumerLagCritical");
  EXPECT_EQ(alerting.rules()[0].primary().threshold, 50000);
  EXPECT_EQ(alerting.rules()[0].origin, RuleOrigin::kSpec);
}

TEST(MonitorAlerting, StatusIsEmptyBeforeTheFirstEvaluationThenHasEveryKey) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure(Json::object(), context()).ok());
  EXPECT_EQ(alerting.status_json(), Json::object());
  (void)alerting.evaluate(healthy_sample(), at(0));
  EXPECT_EQ(alerting.status_json(), Json::parse(R"({"alerts": [], "alertHistory": [], "slos": [],
                                                    "health": "Healthy", "healthReasons": []})"));
}

// Preset on a lag timeline (10 s polls): ConsumerLagHigh pends at 20 s and fires 120 s later,
// ConsumerLagCritical fires at once at 40 s and makes the monitor Unhealthy.
TEST(MonitorAlerting, PresetRulesOnALagTimeline) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure({{"alertsPreset", "default"}}, context()).ok());
  const std::vector<double> lags = {10, 500, 2000, 3000, 6000, 6000};
  for (std::size_t i = 0; i < lags.size(); ++i) {
    (void)alerting.evaluate(healthy_sample(lags[i]), at(10 * static_cast<long long>(i)));
  }
  const Evaluation& at_50 = *alerting.last_evaluation();
  ASSERT_EQ(at_50.active.size(), 2u);
  EXPECT_EQ(at_50.active[0].name, "ConsumerLagHigh");
  EXPECT_EQ(at_50.active[0].state, AlertState::kPending);
  EXPECT_EQ(at_50.active[0].since, at(20));
  EXPECT_EQ(at_50.active[1].name, "ConsumerLagCritical");
  EXPECT_EQ(at_50.active[1].state, AlertState::kFiring);
  EXPECT_EQ(at_50.active[1].since, at(40));
  EXPECT_EQ(at_50.active[1].summary, "consumer lag on orders is 6000 messages (above 5000)");
  EXPECT_EQ(at_50.health.health, Health::kUnhealthy);
  EXPECT_EQ(at_50.health.reasons,
            std::vector<std::string>{"ConsumerLagCritical firing (critical)"});

  const Evaluation& fired = alerting.evaluate(healthy_sample(6000), at(140));
  ASSERT_EQ(fired.transitions.size(), 1u);
  EXPECT_EQ(fired.transitions[0].name, "ConsumerLagHigh");
  EXPECT_EQ(fired.transitions[0].kind, AlertTransition::Kind::kFired);
  EXPECT_EQ(fired.transitions[0].severity, Severity::kMedium);

  const Evaluation& drained = alerting.evaluate(healthy_sample(0), at(150));
  EXPECT_EQ(drained.transitions.size(), 2u);
  EXPECT_TRUE(drained.active.empty());
  EXPECT_EQ(drained.history.size(), 2u);
  EXPECT_EQ(drained.health.health, Health::kHealthy);
  const Json status = alerting.status_json();
  // Newest first; resolved in the same poll, in rule order.
  EXPECT_EQ(status["alertHistory"][0]["name"], "ConsumerLagCritical");
  EXPECT_EQ(status["alertHistory"][0]["firedAt"], "2023-11-15T00:00:40Z");
  EXPECT_EQ(status["alertHistory"][1]["name"], "ConsumerLagHigh");
  EXPECT_EQ(status["alertHistory"][1]["firedAt"], "2023-11-15T00:02:20Z");
  EXPECT_EQ(status["alertHistory"][1]["resolvedAt"], "2023-11-15T00:02:30Z");
  EXPECT_EQ(status["alertHistory"][1]["peakValue"], 6000);
}

// Failure threshold 3 at 10 s polls: SourceUnreachable fires on the third failed poll; health is
// Unhealthy from the first; the lag alerts neither resolve nor fire while metrics are missing
// (ConsumerLagHigh stays pending, ConsumerLagCritical firing).
TEST(MonitorAlerting, SourceUnreachableFiresOnTheThirdFailedPoll) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure({{"alertsPreset", "default"}}, context()).ok());
  (void)alerting.evaluate(healthy_sample(6000), at(0));  // ConsumerLagCritical fires
  const Evaluation& first = alerting.evaluate(unreachable_sample(), at(10));
  EXPECT_EQ(first.health.health, Health::kUnhealthy);
  EXPECT_EQ(first.health.reasons[0], "source unreachable: all brokers down");
  EXPECT_TRUE(first.transitions.empty());
  EXPECT_TRUE(alerting.evaluate(unreachable_sample(), at(20)).transitions.empty());
  const Evaluation& third = alerting.evaluate(unreachable_sample(), at(30));
  ASSERT_EQ(third.transitions.size(), 1u);
  EXPECT_EQ(third.transitions[0].name, "SourceUnreachable");
  EXPECT_EQ(third.transitions[0].severity, Severity::kCritical);
  std::vector<std::string> active;
  for (const auto& alert : third.active) active.push_back(alert.name);
  EXPECT_EQ(active, (std::vector<std::string>{"ConsumerLagHigh", "ConsumerLagCritical",
                                              "SourceUnreachable"}));
  EXPECT_EQ(third.active[0].state, AlertState::kPending);
  EXPECT_EQ(third.active[0].since, at(0));
  const Evaluation& back = alerting.evaluate(healthy_sample(10), at(40));
  EXPECT_EQ(back.transitions.size(), 2u);  // both firing ones resolve; the pending one is dropped
  EXPECT_TRUE(back.active.empty());
  EXPECT_EQ(back.health.health, Health::kHealthy);
}

// A restarted operator continues from status: a firing alert does not fire again, a pending one
// keeps its since, and the SLO continues with neither reset nor double count.
TEST(MonitorAlerting, RestartContinuesFromStatus) {
  const Json spec = {{"alertsPreset", "default"}, {"slos", Json::array({freshness_slo(99, 1)})}};
  auto lag_at = [](long long t) { return t < 300 ? 1500.0 : 6000.0; };
  auto lag_seconds_at = [](long long t) { return t % 120 < 30 ? 45.0 : 5.0; };
  auto poll = [&](MonitorAlerting& alerting, long long t) -> const Evaluation& {
    return alerting.evaluate(healthy_sample(lag_at(t), lag_seconds_at(t)), at(t));
  };
  MonitorAlerting reference;
  ASSERT_TRUE(reference.configure(spec, context()).ok());
  MonitorAlerting before;
  ASSERT_TRUE(before.configure(spec, context()).ok());
  for (long long t = 0; t <= 600; t += 10) {
    (void)poll(reference, t);
    (void)poll(before, t);
  }
  // ConsumerLagHigh firing since 120, ConsumerLagCritical since 310, LagSecondsHigh pending.
  const Json status = before.status_json();

  MonitorAlerting after;
  ASSERT_TRUE(after.configure(spec, context()).ok());
  const RestoreReport report = after.restore(status);
  EXPECT_EQ(report.slos, 1u);
  EXPECT_EQ(report.alerts, status["alerts"].size());
  EXPECT_TRUE(report.skipped.empty());
  for (long long t = 610; t <= 1200; t += 10) {
    const Evaluation& expected = poll(reference, t);
    const Evaluation& actual = poll(after, t);
    ASSERT_EQ(actual.transitions.size(), expected.transitions.size()) << t;
  }
  const Json expected = reference.status_json();
  const Json actual = after.status_json();
  EXPECT_EQ(actual["alerts"], expected["alerts"]);
  EXPECT_EQ(actual["slos"], expected["slos"]);
  EXPECT_EQ(actual["health"], expected["health"]);
  EXPECT_EQ(after.restore(status).skipped,
            std::vector<std::string>{"already evaluating: restore is only for a fresh start"});
}

// SLO 99.9% over 30 days on lagSeconds <= 30. Seven good hours, then ten bad minutes from
// T0 = 7 h. Hand-computed (10 s polls, burn = bad share / 0.001):
//   T0+30   ticket: 3d burn 30/25230 = 1.19 > 1 and 6h burn 30/21600 = 1.39 > 1
//   T0+50   page not yet: 1h burn 50/3600 = 13.9 <= 14.4
//   T0+60   page: 1h burn 60/3600 = 16.7 > 14.4 and 5m burn 60/300 = 200 > 14.4
//   T0+2380 page still: 30m burn 20/1800 = 11.1 > 6 and 6h burn 600/21600 = 27.8 > 6
//   T0+2390 page resolves: 30m burn 10/1800 = 5.6 <= 6, 5m burn 0; peak 1h burn 600/3600 = 166.7
TEST(MonitorAlerting, BurnRateAlertsFireAndResolveForAKnownBadPeriod) {
  MonitorAlerting alerting;
  ASSERT_TRUE(
      alerting.configure({{"slos", Json::array({freshness_slo(99.9, 30)})}}, context()).ok());
  const long long t0 = 7 * 3600;
  auto lag_seconds = [&](long long t) { return t > t0 && t <= t0 + 600 ? 120.0 : 2.0; };
  std::map<long long, std::vector<std::string>> transitions;
  for (long long t = 0; t <= t0 + 2400; t += 10) {
    const Evaluation& evaluation = alerting.evaluate(healthy_sample(10, lag_seconds(t)), at(t));
    for (const auto& transition : evaluation.transitions) {
      transitions[t].push_back(transition.name + (transition.kind == AlertTransition::Kind::kFired
                                                      ? " fired"
                                                      : " resolved"));
    }
    if (t == t0 + 60) {
      ASSERT_EQ(evaluation.active.size(), 2u);
      EXPECT_EQ(evaluation.active[0].name, "freshness-burn-page");
      EXPECT_NEAR(*evaluation.active[0].value, 60.0 / 3600 / 0.001, 1e-6);
      EXPECT_EQ(evaluation.active[0].summary,
                "SLO freshness (99.9% over 30d) is burning its error budget at 16.7x (threshold "
                "14.4x)");
      EXPECT_EQ(evaluation.health.health, Health::kUnhealthy);
    }
  }
  EXPECT_EQ(transitions, (std::map<long long, std::vector<std::string>>{
                             {t0 + 30, {"freshness-burn-ticket fired"}},
                             {t0 + 60, {"freshness-burn-page fired"}},
                             {t0 + 2390, {"freshness-burn-page resolved"}}}));
  const Evaluation& last = *alerting.last_evaluation();
  ASSERT_EQ(last.history.size(), 1u);
  EXPECT_NEAR(*last.history[0].peak_value, 600.0 / 3600 / 0.001, 1e-6);
  EXPECT_EQ(last.history[0].summary,
            "SLO freshness (99.9% over 30d) is burning its error budget at 167x (threshold "
            "14.4x)");
  EXPECT_EQ(alerting.status_json()["alertHistory"][0]["peakValue"], 167);
  // 600 s of a 2592 s budget spent.
  EXPECT_NEAR(last.slos[0].budget_remaining_seconds, 2592 - 600, 1e-6);
}

TEST(MonitorAlerting, AStalledGroupHoldsScaleUpAndDegradesHealth) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure(Json::object(), context()).ok());
  MetricSample sample = healthy_sample(800);
  sample.committed_offset_total = 123'456;
  for (long long t = 0; t < 180; t += 10) {
    EXPECT_FALSE(alerting.evaluate(sample, at(t)).hold_scale_up) << t;
  }
  const Evaluation& stalled = alerting.evaluate(sample, at(180));
  EXPECT_TRUE(stalled.hold_scale_up);
  EXPECT_EQ(stalled.hold_scale_up_reason,
            "consumer group stalled: committed offsets not moving while lag > 0 since "
            "2023-11-15T00:00:00Z");
  EXPECT_EQ(stalled.health.health, Health::kDegraded);
  sample.committed_offset_total = 123'999;
  EXPECT_FALSE(alerting.evaluate(sample, at(190)).hold_scale_up);
}

TEST(MonitorAlerting, GrowingLagAtMaxReplicasDegradesAfterThreePolls) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure(Json::object(), context()).ok());
  MetricSample sample = healthy_sample(1000);
  sample.set("ingressRate", 500).set("egressRate", 400);
  sample.replicas_at_max = true;
  EXPECT_FALSE(alerting.evaluate(sample, at(0)).growing_at_max);
  EXPECT_FALSE(alerting.evaluate(sample, at(10)).growing_at_max);
  const Evaluation& third = alerting.evaluate(sample, at(20));
  EXPECT_TRUE(third.growing_at_max);
  EXPECT_EQ(third.health.health, Health::kDegraded);
  EXPECT_EQ(third.health.reasons, std::vector<std::string>{"replicas at maximum while lag grows"});
  sample.replicas_at_max = false;
  EXPECT_EQ(alerting.evaluate(sample, at(30)).health.health, Health::kHealthy);
}

TEST(MonitorAlerting, AnObjectiveChangeKeepsTheDataAMetricChangeResetsIt) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure({{"slos", Json::array({freshness_slo(99, 1)})}}, context()).ok());
  for (long long t = 0; t <= 600; t += 10) (void)alerting.evaluate(healthy_sample(10, 50), at(t));
  ASSERT_TRUE(
      alerting.configure({{"slos", Json::array({freshness_slo(99.5, 1)})}}, context()).ok());
  const Evaluation& same = alerting.evaluate(healthy_sample(10, 50), at(610));
  EXPECT_NEAR(same.slos[0].budget_remaining_seconds, 0.005 * 86400 - 610, 1e-6);
  Json changed = freshness_slo(99.5, 1);
  changed["goodWhen"]["threshold"] = 60;
  ASSERT_TRUE(alerting.configure({{"slos", Json::array({changed})}}, context()).ok());
  const Evaluation& reset = alerting.evaluate(healthy_sample(10, 50), at(620));
  EXPECT_FALSE(reset.slos[0].sli_percent);  // first poll of a new measure: nothing known yet
}

TEST(MonitorAlerting, AnSloWithAnInvalidSpecKeepsItsBucketsUntilFixed) {
  MonitorAlerting alerting;
  ASSERT_TRUE(alerting.configure({{"slos", Json::array({freshness_slo(99, 1)})}}, context()).ok());
  for (long long t = 0; t <= 600; t += 10) (void)alerting.evaluate(healthy_sample(10, 50), at(t));
  Json broken = freshness_slo(99, 1);
  broken["objectivePercent"] = 100;
  const ConfigureReport report = alerting.configure({{"slos", Json::array({broken})}}, context());
  ASSERT_EQ(report.errors.size(), 1u);
  (void)alerting.evaluate(healthy_sample(10, 50), at(610));
  const Json slos = alerting.status_json()["slos"];
  ASSERT_EQ(slos.size(), 1u);
  EXPECT_EQ(slos[0]["name"], "freshness");
  EXPECT_TRUE(slos[0]["buckets"].is_string());
  EXPECT_FALSE(slos[0].contains("sliPercent"));

  ASSERT_TRUE(alerting.configure({{"slos", Json::array({freshness_slo(99, 1)})}}, context()).ok());
  const Evaluation& fixed = alerting.evaluate(healthy_sample(10, 50), at(620));
  // The 600 bad seconds before the break are back, and (600 s, 620 s] counts too: the kept record
  // ends at 600 s and 20 s is within the 60 s gap limit.
  EXPECT_NEAR(fixed.slos[0].budget_remaining_seconds, 864 - 620, 1e-6);
}

}  // namespace
}  // namespace lagpilot::alerts
