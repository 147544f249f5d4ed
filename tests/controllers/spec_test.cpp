#include <gtest/gtest.h>

#include "api/queuemonitor_spec.h"
#include "controllers/conditions.h"
#include "controllers/queuemonitor_controller.h"

namespace lagpilot::controllers {
namespace {

using Json = nlohmann::json;
using api::check_spec_for_operator;
using api::parse_queue_monitor_spec;

Json minimal() {
  return Json::parse(
      R"({"source":{"kafka":{"bootstrapServers":"k:9092","topic":"orders","consumerGroup":"g"}},
    "target":{"apiVersion":"apps/v1","kind":"Deployment","name":"consumer"}})");
}

TEST(QueueMonitorSpec, MinimalSpecGetsDefaults) {
  auto spec = parse_queue_monitor_spec(minimal());
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->source_kind, "kafka");
  EXPECT_EQ(spec->source["topic"], "orders");
  EXPECT_EQ(spec->poll_interval_seconds, 10);
  EXPECT_EQ(spec->target.name, "consumer");
  EXPECT_EQ(spec->scaling.policy, scaler::Policy::kDrainTime);
  EXPECT_EQ(spec->scaling.min_replicas, 1);
  EXPECT_EQ(spec->scaling.scale_down.stabilization_seconds, 300);
}

TEST(QueueMonitorSpec, ReadsScalingFields) {
  Json spec = minimal();
  spec["scaling"] =
      Json::parse(R"({"mode":"DryRun","policy":"lagPerReplica","minReplicas":0,"maxReplicas":24,
    "targetLagPerReplica":1000,"tolerance":0.2,"scaleUp":{"stabilizationSeconds":5,"periodSeconds":30},
    "scaleDown":{"maxPercentPerPeriod":20},"cooldownSeconds":10,"fallback":{"failureThreshold":2,"replicas":6},
    "historyLimit":5})");
  spec["source"]["kafka"]["authSecretRef"] = {{"name", "kafka-client"}};
  auto parsed = parse_queue_monitor_spec(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->scaling.mode, scaler::Mode::kDryRun);
  EXPECT_EQ(parsed->scaling.policy, scaler::Policy::kLagPerReplica);
  EXPECT_EQ(parsed->scaling.min_replicas, 0);
  EXPECT_EQ(parsed->scaling.max_replicas, 24);
  EXPECT_EQ(parsed->scaling.target_lag_per_replica, 1000);
  EXPECT_DOUBLE_EQ(parsed->scaling.tolerance, 0.2);
  EXPECT_EQ(parsed->scaling.scale_up.stabilization_seconds, 5);
  EXPECT_EQ(parsed->scaling.scale_up.period_seconds, 30);
  EXPECT_EQ(parsed->scaling.scale_up.max_pods_per_period, 4);  // default kept
  EXPECT_EQ(parsed->scaling.scale_down.max_percent_per_period, 20);
  EXPECT_EQ(parsed->scaling.cooldown_seconds, 10);
  EXPECT_EQ(parsed->scaling.fallback.failure_threshold, 2);
  ASSERT_TRUE(parsed->scaling.fallback.replicas.has_value());
  EXPECT_EQ(*parsed->scaling.fallback.replicas, 6);
  EXPECT_EQ(parsed->scaling.history_limit, 5);
}

// nlohmann reads 2^63 and above as unsigned and past 2^64 as a double: the error says out of range
// and shows the value as parsed (past 2^64 a double), never a wrapped negative number.
TEST(QueueMonitorSpec, IntegersPast64BitsAreOutOfRangeAsWritten) {
  for (const char* big : {"9223372036854775808", "18446744073709551615", "18446744073709551616",
                          "-9223372036854775809", "1e30"}) {
    Json spec = minimal();
    spec["scaling"] = {{"maxReplicas", Json::parse(big)}};
    auto parsed = parse_queue_monitor_spec(spec);
    ASSERT_FALSE(parsed.ok()) << big;
    EXPECT_EQ(parsed.error().message,
              std::string("spec.scaling.maxReplicas: out of range: must be between 1 and 100000, "
                          "got ") +
                  Json::parse(big).dump())
        << big;
  }
  Json spec = minimal();
  spec["pollIntervalSeconds"] = Json::parse("9223372036854775807");
  EXPECT_EQ(parse_queue_monitor_spec(spec).error().message,
            "spec.pollIntervalSeconds: must be between 1 and 3600, got 9223372036854775807");
  spec["pollIntervalSeconds"] = 2.5;
  EXPECT_EQ(parse_queue_monitor_spec(spec).error().message,
            "spec.pollIntervalSeconds: must be an integer");
}

TEST(QueueMonitorSpec, OnDeleteIsKeepRestoreOrANamedError) {
  EXPECT_EQ(parse_queue_monitor_spec(minimal())->on_delete, api::OnDelete::kKeep);
  Json spec = minimal();
  spec["scaling"] = {{"onDelete", "Restore"}};
  EXPECT_EQ(parse_queue_monitor_spec(spec)->on_delete, api::OnDelete::kRestore);
  spec["scaling"] = {{"onDelete", "Keep"}};
  EXPECT_EQ(parse_queue_monitor_spec(spec)->on_delete, api::OnDelete::kKeep);
  spec["scaling"] = {{"onDelete", "Scale"}};
  auto parsed = parse_queue_monitor_spec(spec);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message,
            "spec.scaling.onDelete: must be Keep or Restore, got \"Scale\"");
}

struct BadSpec {
  std::string name;
  std::function<void(Json&)> mutate;
  std::string field;
};

TEST(QueueMonitorSpec, ErrorsNameTheField) {
  std::vector<BadSpec> cases = {
      {"no source", [](Json& s) { s.erase("source"); }, "spec.source"},
      {"two sources",
       [](Json& s) {
         s["source"]["rabbitmq"] = Json{{"host", "rabbitmq"}, {"queue", "orders"}};
       },
       "spec.source"},
      {"no target", [](Json& s) { s.erase("target"); }, "spec.target"},
      {"target without name", [](Json& s) { s["target"].erase("name"); }, "spec.target.name"},
      {"min above max",
       [](Json& s) {
         s["scaling"] = {{"minReplicas", 5}, {"maxReplicas", 3}};
       },
       "spec.scaling.maxReplicas"},
      {"unknown policy",
       [](Json& s) {
         s["scaling"] = {{"policy", "cpu"}};
       },
       "spec.scaling.policy"},
      {"unknown mode",
       [](Json& s) {
         s["scaling"] = {{"mode", "Sometimes"}};
       },
       "spec.scaling.mode"},
      {"string replicas",
       [](Json& s) {
         s["scaling"] = {{"maxReplicas", "ten"}};
       },
       "spec.scaling.maxReplicas"},
      {"zero poll interval", [](Json& s) { s["pollIntervalSeconds"] = 0; },
       "spec.pollIntervalSeconds"},
      {"bad scaleUp period",
       [](Json& s) {
         s["scaling"] = {{"scaleUp", {{"periodSeconds", 0}}}};
       },
       "spec.scaling.scaleUp.periodSeconds"},
      {"alerts not a list", [](Json& s) { s["alerts"] = "x"; }, "spec.alerts"},
      {"start-up delay over an hour",
       [](Json& s) {
         s["scaling"] = {{"startupDelaySeconds", 3601}};
       },
       "spec.scaling.startupDelaySeconds"},
      {"unknown selectPolicy",
       [](Json& s) {
         s["scaling"] = {{"scaleDown", {{"selectPolicy", "Never"}}}};
       },
       "spec.scaling.scaleDown.selectPolicy"},
  };
  for (const auto& c : cases) {
    Json spec = minimal();
    c.mutate(spec);
    auto parsed = parse_queue_monitor_spec(spec);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.error().code, "InvalidSpec") << c.name;
    EXPECT_EQ(parsed.error().message.rfind(c.field + ":", 0), 0u)
        << c.name << ": " << parsed.error().message;
  }
}

TEST(QueueMonitorSpec, OmittedPlannerFieldsAreNotWritten) {
  auto spec = parse_queue_monitor_spec(minimal());
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const auto& set = spec->scaling.user_set;
  EXPECT_FALSE(set.target_drain_seconds || set.scale_up || set.scale_down || set.cooldown_seconds);
  EXPECT_FALSE(spec->scaling.startup_delay_seconds);
  EXPECT_FALSE(spec->scaling.freshness_objective_seconds);
  EXPECT_EQ(scaler::objective_seconds(spec->scaling), 60);
}

TEST(QueueMonitorSpec, WrittenPlannerFieldsAndTheStartupDelayAreTheUsers) {
  Json spec = minimal();
  spec["scaling"] = Json::parse(R"({"targetDrainSeconds":20,"scaleUp":{},
    "scaleDown":{"selectPolicy":"Disabled"},"cooldownSeconds":0,"startupDelaySeconds":45})");
  auto parsed = parse_queue_monitor_spec(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const auto& s = parsed->scaling;
  EXPECT_TRUE(s.user_set.target_drain_seconds && s.user_set.scale_up && s.user_set.scale_down &&
              s.user_set.cooldown_seconds);
  EXPECT_EQ(s.scale_down.select_policy, scaler::SelectPolicy::kDisabled);
  EXPECT_EQ(s.scale_up.select_policy, scaler::SelectPolicy::kMax);
  EXPECT_EQ(s.startup_delay_seconds, 45);
  EXPECT_EQ(scaler::objective_seconds(s), 20);
}

TEST(QueueMonitorSpec, TheFreshnessObjectiveIsTheFirstLagSecondsSloWithAnUpperBound) {
  Json spec = minimal();
  spec["scaling"] = {{"targetDrainSeconds", 120}};
  spec["slos"] = Json::parse(R"([
    {"name":"lag","metric":"consumerLag","goodWhen":{"op":"<=","threshold":5000}},
    {"name":"odd","metric":"lagSeconds","goodWhen":{"op":">=","threshold":1}},
    {"name":"fresh","metric":"lagSeconds","goodWhen":{"op":"<","threshold":30}},
    {"name":"later","metric":"lagSeconds","goodWhen":{"op":"<=","threshold":10}}])");
  auto parsed = parse_queue_monitor_spec(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->scaling.freshness_objective_seconds, 30);
  EXPECT_EQ(scaler::objective_seconds(parsed->scaling), 30);
}

TEST(QueueMonitorSpec, DepthLatencyWithoutALatencySourceIsInvalidForTheOperator) {
  Json spec = minimal();
  spec["scaling"] = {{"policy", "depthLatency"}};
  auto parsed = parse_queue_monitor_spec(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;  // `lagpilot simulate` models latency itself
  auto checked = check_spec_for_operator(*parsed);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, "InvalidSpec");
  EXPECT_EQ(checked.error().message, "spec.latency: required by spec.scaling.policy depthLatency");

  spec["latency"] = {{"prometheus", {{"serverUrl", "http://p:9090"}, {"query", "q"}}}};
  parsed = parse_queue_monitor_spec(spec);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(check_spec_for_operator(*parsed).ok());
}

TEST(Conditions, TransitionTimeMovesOnlyWhenStatusFlips) {
  Json conditions = Json::array();
  WallTime t0{std::chrono::seconds(1'000'000)};
  EXPECT_TRUE(set_condition(conditions, {"Ready", "True", "Reconciled", ""}, 1, t0));
  EXPECT_FALSE(set_condition(conditions, {"Ready", "True", "Reconciled", ""}, 1,
                             t0 + std::chrono::seconds(5)));
  EXPECT_EQ((*find_condition(conditions, "Ready"))["lastTransitionTime"], format_rfc3339(t0));
  EXPECT_TRUE(set_condition(conditions, {"Ready", "True", "Reconciled", "new message"}, 2,
                            t0 + std::chrono::seconds(6)));
  EXPECT_EQ((*find_condition(conditions, "Ready"))["lastTransitionTime"], format_rfc3339(t0));
  EXPECT_TRUE(set_condition(conditions, {"Ready", "False", "InvalidSpec", "x"}, 2,
                            t0 + std::chrono::seconds(7)));
  EXPECT_EQ((*find_condition(conditions, "Ready"))["lastTransitionTime"],
            format_rfc3339(t0 + std::chrono::seconds(7)));
  EXPECT_EQ(conditions.size(), 1u);
  EXPECT_EQ(find_condition(conditions, "Healthy"), nullptr);
}

TEST(MergePatchDiff, ChangedAddedAndRemovedKeys) {
  Json from = Json::parse(R"({"a":1,"b":{"x":1,"y":2},"c":[1],"gone":true})");
  Json to = Json::parse(R"({"a":1,"b":{"x":1,"y":3},"c":[1,2],"new":"v"})");
  Json patch = merge_patch_diff(from, to);
  EXPECT_EQ(patch, Json::parse(R"({"b":{"y":3},"c":[1,2],"gone":null,"new":"v"})"));
  Json applied = from;
  applied.merge_patch(patch);
  EXPECT_EQ(applied, to);
}

}  // namespace
}  // namespace lagpilot::controllers
