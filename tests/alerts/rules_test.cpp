#include "alerts/rules.h"

#include <gtest/gtest.h>

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;

const MetricCatalog kCatalog{std::string("latencyP95Seconds")};

Json valid_rule() {
  return Json{{"name", "HighConsumerLag"},
              {"metric", "consumerLag"},
              {"op", ">"},
              {"threshold", 5000},
              {"forSeconds", 120},
              {"keepFiringForSeconds", 30},
              {"severity", "high"},
              {"labels", {{"team", "orders"}}},
              {"summary", "lag is {{ .value }} messages on {{ .topic }}"}};
}

TEST(ParseAlertRule, ReadsEveryField) {
  auto rule = parse_alert_rule(valid_rule(), 0, kCatalog);
  ASSERT_TRUE(rule.ok()) << rule.error().message;
  EXPECT_EQ(rule->name, "HighConsumerLag");
  ASSERT_EQ(rule->any_of.size(), 1u);
  ASSERT_EQ(rule->any_of[0].all_of.size(), 1u);
  EXPECT_EQ(rule->primary().metric, "consumerLag");
  EXPECT_EQ(rule->primary().op, Op::kGreater);
  EXPECT_EQ(rule->primary().threshold, 5000);
  EXPECT_EQ(rule->for_duration, std::chrono::seconds(120));
  EXPECT_EQ(rule->keep_firing_for, std::chrono::seconds(30));
  EXPECT_EQ(rule->severity, Severity::kHigh);
  EXPECT_EQ(rule->labels, (std::map<std::string, std::string>{{"team", "orders"}}));
  EXPECT_EQ(rule->summary.text(), "lag is {{ .value }} messages on {{ .topic }}");
  EXPECT_EQ(rule->origin, RuleOrigin::kSpec);
}

TEST(ParseAlertRule, AppliesCrdDefaults) {
  Json item = {{"name", "a"}, {"metric", "lagSeconds"}, {"op", ">="}, {"threshold", 30.5}};
  auto rule = parse_alert_rule(item, 0, kCatalog);
  ASSERT_TRUE(rule.ok()) << rule.error().message;
  EXPECT_EQ(rule->for_duration, Duration::zero());
  EXPECT_EQ(rule->keep_firing_for, Duration::zero());
  EXPECT_EQ(rule->severity, Severity::kMedium);
  EXPECT_TRUE(rule->labels.empty());
  EXPECT_EQ(rule->summary.text(), "lagSeconds >= 30.5 (value {{ .value }})");
}

TEST(ParseAlertRule, AcceptsTheCustomLatencyNameOnly) {
  const MetricCatalog custom{std::string("orderP99Seconds")};
  Json item = {{"name", "Slow"}, {"metric", "orderP99Seconds"}, {"op", ">"}, {"threshold", 1}};
  EXPECT_TRUE(parse_alert_rule(item, 0, custom).ok());
  item["metric"] = "latencyP95Seconds";
  auto rule = parse_alert_rule(item, 0, custom);
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.error().message,
            "spec.alerts[0].metric: unknown metric \"latencyP95Seconds\" (known: consumerLag, "
            "queueDepth, lagSeconds, consumers, ingressRate, egressRate, replicas, partitions, "
            "orderP99Seconds, sourceReachable, scaledToMaxWithGrowingLag)");
}

TEST(ParseAlertRule, ErrorsNameTheField) {
  struct Row {
    const char* key;
    Json value;  // null: remove the key
    std::size_t index;
    const char* message;
  };
  const Row rows[] = {
      {"name", nullptr, 0, "spec.alerts[0].name: required"},
      {"name", 7, 0, "spec.alerts[0].name: must be a string"},
      {"name", "9lives", 1,
       "spec.alerts[1].name: \"9lives\" must be 1-63 letters, digits, '_' or '-', starting with a "
       "letter"},
      {"metric", nullptr, 0, "spec.alerts[0].metric: required"},
      {"metric", "lagg", 2,
       "spec.alerts[2].metric: unknown metric \"lagg\" (known: consumerLag, queueDepth, "
       "lagSeconds, consumers, ingressRate, egressRate, replicas, partitions, latencyP95Seconds, "
       "sourceReachable, scaledToMaxWithGrowingLag)"},
      {"op", "=>", 0,
       "spec.alerts[0].op: unknown operator \"=>\" (known: > >= < <= == !=; quote it in YAML)"},
      {"op", nullptr, 0, "spec.alerts[0].op: required"},
      {"threshold", "5000", 0, "spec.alerts[0].threshold: must be a number"},
      {"threshold", nullptr, 0, "spec.alerts[0].threshold: required"},
      {"forSeconds", -1, 0, "spec.alerts[0].forSeconds: must be between 0 and 2147483647, got -1"},
      {"forSeconds", 1.5, 0, "spec.alerts[0].forSeconds: must be an integer"},
      {"keepFiringForSeconds", "1m", 0, "spec.alerts[0].keepFiringForSeconds: must be an integer"},
      {"severity", "warning", 0,
       "spec.alerts[0].severity: unknown severity \"warning\" (known: critical, high, medium, low, "
       "info)"},
      {"labels", Json::array(), 0, "spec.alerts[0].labels: must be a map of strings"},
      {"labels",
       {{"severity", "page"}},
       0,
       "spec.alerts[0].labels.severity: reserved: lagpilot sets alertname, severity, namespace, "
       "queuemonitor and topic"},
      {"labels", {{"team", 1}}, 0, "spec.alerts[0].labels.team: must be a string"},
      {"labels",
       {{"bad-name", "x"}},
       0,
       "spec.alerts[0].labels.bad-name: label names are letters, digits and '_', not starting "
       "with a digit"},
      {"summary", "lag {{ .value", 0, "spec.alerts[0].summary: unclosed {{ (at character 5)"},
      {"summary", 3, 0, "spec.alerts[0].summary: must be a string"},
  };
  for (const auto& row : rows) {
    Json item = valid_rule();
    if (row.value.is_null()) {
      item.erase(row.key);
    } else {
      item[row.key] = row.value;
    }
    auto rule = parse_alert_rule(item, row.index, kCatalog);
    ASSERT_FALSE(rule.ok()) << row.key;
    EXPECT_EQ(rule.error().code, "InvalidSpec");
    EXPECT_EQ(rule.error().message, row.message);
  }
}

TEST(ParseAlertRule, LatencyWithoutSpecLatencySaysWhatIsMissing) {
  Json item = valid_rule();
  item["metric"] = "latencyP95Seconds";
  auto rule = parse_alert_rule(item, 3, MetricCatalog{});
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.error().message,
            "spec.alerts[3].metric: metric \"latencyP95Seconds\" needs spec.latency (a Prometheus "
            "query for the consumers' latency)");
}

TEST(ParseAlertRule, RejectsANonObjectItemAndAnOverlongSummary) {
  EXPECT_EQ(parse_alert_rule(Json("x"), 4, kCatalog).error().message,
            "spec.alerts[4]: must be an object");
  Json item = valid_rule();
  item["summary"] = std::string(1025, 'x');
  EXPECT_EQ(parse_alert_rule(item, 0, kCatalog).error().message,
            "spec.alerts[0].summary: at most 1024 characters");
}

TEST(ParseAlertRules, SkipsOnlyTheBadRules) {
  Json second = valid_rule();
  second["name"] = "Second";
  second["metric"] = "lagg";
  Json third = valid_rule();
  third["name"] = "Third";
  Json duplicate = valid_rule();
  const Json alerts = Json::array({valid_rule(), second, third, duplicate});
  ParsedRules parsed = parse_alert_rules(alerts, kCatalog);
  ASSERT_EQ(parsed.rules.size(), 2u);
  EXPECT_EQ(parsed.rules[0].name, "HighConsumerLag");
  EXPECT_EQ(parsed.rules[1].name, "Third");
  ASSERT_EQ(parsed.errors.size(), 2u);
  EXPECT_EQ(parsed.errors[0].message.rfind("spec.alerts[1].metric: unknown metric \"lagg\"", 0),
            0u);
  EXPECT_EQ(parsed.errors[1].message,
            "spec.alerts[3].name: duplicate rule name \"HighConsumerLag\" (also spec.alerts[0])");
}

TEST(ParseAlertRules, NullIsEmptyAndANonListIsAnError) {
  EXPECT_TRUE(parse_alert_rules(Json(), kCatalog).rules.empty());
  EXPECT_TRUE(parse_alert_rules(Json(), kCatalog).errors.empty());
  ParsedRules parsed = parse_alert_rules(Json::object(), kCatalog);
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0].message, "spec.alerts: must be a list");
}

TEST(ParseAlertsPreset, KnowsNoneAndDefault) {
  EXPECT_EQ(*parse_alerts_preset(Json()), AlertsPreset::kNone);
  EXPECT_EQ(*parse_alerts_preset(Json("none")), AlertsPreset::kNone);
  EXPECT_EQ(*parse_alerts_preset(Json("default")), AlertsPreset::kDefault);
  EXPECT_EQ(parse_alerts_preset(Json("all")).error().message,
            "spec.alertsPreset: unknown preset \"all\" (known: none, default)");
}

TEST(DefaultPreset, IsTheDocumentedTable) {
  RuleContext context{MetricCatalog{}, 90, 100, 10, 3};
  const auto rules = default_preset_rules(context);
  struct Row {
    const char* name;
    std::vector<Condition> conditions;
    int for_seconds;
    Severity severity;
  };
  const std::vector<Row> expected = {
      {"ConsumerLagHigh", {{"consumerLag", Op::kGreater, 1000}}, 120, Severity::kMedium},
      {"ConsumerLagCritical", {{"consumerLag", Op::kGreater, 5000}}, 0, Severity::kCritical},
      {"LagSecondsHigh", {{"lagSeconds", Op::kGreater, 90}}, 120, Severity::kHigh},
      {"ConsumerGroupEmpty",
       {{"consumers", Op::kEqual, 0}, {"consumerLag", Op::kGreater, 100}},
       60,
       Severity::kHigh},
      {"SourceUnreachable", {{"sourceReachable", Op::kEqual, 0}}, 20, Severity::kCritical},
      {"ScaledToMaxWithGrowingLag",
       {{"scaledToMaxWithGrowingLag", Op::kEqual, 1}},
       300,
       Severity::kHigh},
  };
  ASSERT_EQ(rules.size(), expected.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(rules[i].name, expected[i].name);
    EXPECT_EQ(rules[i].origin, RuleOrigin::kPreset);
    ASSERT_EQ(rules[i].any_of.size(), 1u);
    const auto& conditions = rules[i].any_of[0].all_of;
    ASSERT_EQ(conditions.size(), expected[i].conditions.size());
    for (std::size_t c = 0; c < conditions.size(); ++c) {
      EXPECT_EQ(conditions[c].metric, expected[i].conditions[c].metric);
      EXPECT_EQ(conditions[c].op, expected[i].conditions[c].op);
      EXPECT_EQ(conditions[c].threshold, expected[i].conditions[c].threshold);
    }
    EXPECT_EQ(rules[i].for_duration, std::chrono::seconds(expected[i].for_seconds));
    EXPECT_EQ(rules[i].keep_firing_for, Duration::zero());
    EXPECT_EQ(rules[i].severity, expected[i].severity);
  }
}

TEST(EvaluateRule, ConsumerGroupEmptyStaysInactiveWhileConsumersAreUnknown) {
  const auto rules = default_preset_rules(RuleContext{MetricCatalog{}, 60, 0, 10, 3});
  const AlertRule& empty_group = rules[3];
  ASSERT_EQ(empty_group.name, "ConsumerGroupEmpty");
  struct Row {
    MetricValues values;
    Truth truth;
  };
  const Row rows[] = {
      {{{"consumers", 0}, {"consumerLag", 12}}, Truth::kTrue},
      {{{"consumers", 3}, {"consumerLag", 12}}, Truth::kFalse},
      {{{"consumers", 0}, {"consumerLag", 0}}, Truth::kFalse},
      {{{"consumerLag", 12}}, Truth::kUnknown},  // Kafka could not tell the members
  };
  for (const auto& row : rows) EXPECT_EQ(evaluate_rule(empty_group, row.values).truth, row.truth);
}

TEST(EvaluateRule, ReportsTheFirstHoldingClause) {
  AlertRule rule;
  rule.name = "burn";
  rule.any_of = {Clause{{{"a", Op::kGreater, 10}, {"b", Op::kGreater, 10}}},
                 Clause{{{"c", Op::kGreater, 5}, {"d", Op::kGreater, 5}}}};
  RuleVerdict verdict = evaluate_rule(rule, {{"a", 12}, {"b", 1}, {"c", 7}, {"d", 6}});
  EXPECT_EQ(verdict.truth, Truth::kTrue);
  EXPECT_EQ(verdict.subject->metric, "c");
  EXPECT_EQ(verdict.value, 7);
  verdict = evaluate_rule(rule, {{"a", 12}, {"c", 1}, {"d", 6}});  // b unknown, clause 2 false
  EXPECT_EQ(verdict.truth, Truth::kUnknown);
  EXPECT_EQ(verdict.subject->metric, "a");
  EXPECT_EQ(verdict.value, 12);
  verdict = evaluate_rule(rule, {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
  EXPECT_EQ(verdict.truth, Truth::kFalse);
}

TEST(AlertLabels, AddsLagpilotLabelsThatRulesCannotOverride) {
  auto rule = parse_alert_rule(valid_rule(), 0, kCatalog);
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(alert_labels(*rule, "shop", "orders", "orders-topic"),
            (std::map<std::string, std::string>{{"alertname", "HighConsumerLag"},
                                                {"namespace", "shop"},
                                                {"queuemonitor", "orders"},
                                                {"severity", "high"},
                                                {"team", "orders"},
                                                {"topic", "orders-topic"}}));
}

}  // namespace
}  // namespace lagpilot::alerts
