#include "alerts/rules.h"

#include <array>
#include <cctype>
#include <limits>
#include <set>
#include <string_view>

#include "alerts/spec_fields.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;
using spec_fields::invalid;

constexpr std::array<std::string_view, 5> kReservedLabels{"alertname", "severity", "namespace",
                                                          "queuemonitor", "topic"};
constexpr std::size_t kMaxLabels = 20;
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

bool is_label_name(const std::string& name) {
  if (name.empty()) return false;
  const auto first = static_cast<unsigned char>(name.front());
  if (!std::isalpha(first) && name.front() != '_') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Result<std::map<std::string, std::string>> parse_labels(const Json& item, const std::string& path) {
  std::map<std::string, std::string> labels;
  const Json* value = spec_fields::find(item, "labels");
  if (!value) return labels;
  const std::string field = path + ".labels";
  if (!value->is_object()) return invalid(field, "must be a map of strings");
  if (value->size() > kMaxLabels) {
    return invalid(field, "at most " + std::to_string(kMaxLabels) + " labels");
  }
  for (const auto& [key, text] : value->items()) {
    if (!is_label_name(key)) {
      return invalid(field + "." + key,
                     "label names are letters, digits and '_', not starting "
                     "with a digit");
    }
    for (std::string_view reserved : kReservedLabels) {
      if (key == reserved) {
        return invalid(field + "." + key,
                       "reserved: lagpilot sets alertname, severity, namespace, queuemonitor and "
                       "topic");
      }
    }
    if (!text.is_string()) return invalid(field + "." + key, "must be a string");
    labels[key] = text.get<std::string>();
  }
  return labels;
}

Duration seconds(std::int64_t count) { return std::chrono::seconds(count); }

AlertRule preset_rule(std::string name, std::vector<Condition> conditions, std::int64_t for_seconds,
                      Severity severity, std::string_view summary) {
  AlertRule rule;
  rule.name = std::move(name);
  rule.any_of.push_back(Clause{std::move(conditions)});
  rule.for_duration = seconds(for_seconds);
  rule.severity = severity;
  rule.summary = *SummaryTemplate::parse(summary);  // fixed texts, known to parse
  rule.origin = RuleOrigin::kPreset;
  return rule;
}

}  // namespace

RuleVerdict evaluate_rule(const AlertRule& rule, const MetricValues& values) {
  RuleVerdict verdict;
  verdict.truth = Truth::kFalse;
  for (const auto& clause : rule.any_of) {
    const Truth truth = clause.evaluate(values);
    if (truth == Truth::kTrue) {
      verdict.truth = Truth::kTrue;
      verdict.subject = &clause.all_of.front();
      break;
    }
    if (truth == Truth::kUnknown) verdict.truth = Truth::kUnknown;
  }
  if (!verdict.subject) verdict.subject = &rule.primary();
  auto it = values.find(verdict.subject->metric);
  if (it != values.end()) verdict.value = it->second;
  return verdict;
}

SummaryTemplate default_summary(const Condition& condition) {
  const std::string text = condition.metric + " " + std::string(to_string(condition.op)) + " " +
                           format_number(condition.threshold) + " (value {{ .value }})";
  auto parsed = SummaryTemplate::parse(text);
  // A metric name cannot contain "{{" (the catalog only knows identifiers), so this parses.
  return parsed ? *parsed : SummaryTemplate{};
}

Result<AlertRule> parse_alert_rule(const Json& item, std::size_t index,
                                   const MetricCatalog& catalog) {
  const std::string path = "spec.alerts[" + std::to_string(index) + "]";
  if (!item.is_object()) return invalid(path, "must be an object");
  AlertRule rule;

  auto name = spec_fields::required_name(item, path);
  if (!name) return name.error();
  rule.name = *name;

  auto metric = spec_fields::required_string(item, "metric", path);
  if (!metric) return metric.error();
  if (auto problem = catalog.problem_with(*metric)) return invalid(path + ".metric", *problem);

  auto op = spec_fields::required_op(item, "op", path);
  if (!op) return op.error();
  auto threshold = spec_fields::required_number(item, "threshold", path);
  if (!threshold) return threshold.error();
  rule.any_of.push_back(Clause{{Condition{*metric, *op, *threshold}}});

  auto for_seconds = spec_fields::optional_integer(item, "forSeconds", path, 0, 0, kInt32Max);
  if (!for_seconds) return for_seconds.error();
  rule.for_duration = seconds(*for_seconds);
  auto keep_seconds =
      spec_fields::optional_integer(item, "keepFiringForSeconds", path, 0, 0, kInt32Max);
  if (!keep_seconds) return keep_seconds.error();
  rule.keep_firing_for = seconds(*keep_seconds);

  if (const Json* severity = spec_fields::find(item, "severity")) {
    auto parsed =
        severity->is_string() ? parse_severity(severity->get<std::string>()) : std::nullopt;
    if (!parsed) {
      return invalid(path + ".severity", "unknown severity " + severity->dump() +
                                             " (known: critical, high, medium, low, info)");
    }
    rule.severity = *parsed;
  }

  auto labels = parse_labels(item, path);
  if (!labels) return labels.error();
  rule.labels = std::move(*labels);

  if (const Json* summary = spec_fields::find(item, "summary")) {
    if (!summary->is_string()) return invalid(path + ".summary", "must be a string");
    const std::string text = summary->get<std::string>();
    if (text.size() > SummaryTemplate::kMaxLength) {
      return invalid(path + ".summary",
                     "at most " + std::to_string(SummaryTemplate::kMaxLength) + " characters");
    }
    auto parsed = SummaryTemplate::parse(text);
    if (!parsed) return invalid(path + ".summary", parsed.error().message);
    rule.summary = std::move(*parsed);
  } else {
    rule.summary = default_summary(rule.primary());
  }
  rule.origin = RuleOrigin::kSpec;
  return rule;
}

ParsedRules parse_alert_rules(const Json& alerts, const MetricCatalog& catalog) {
  ParsedRules parsed;
  spec_fields::parse_named_list(
      alerts, "spec.alerts", "rule name",
      [&](const Json& item, std::size_t index) { return parse_alert_rule(item, index, catalog); },
      parsed.rules, parsed.errors);
  return parsed;
}

Result<AlertsPreset> parse_alerts_preset(const Json& preset) {
  if (preset.is_null()) return AlertsPreset::kNone;
  if (preset.is_string()) {
    const std::string text = preset.get<std::string>();
    if (text == "none") return AlertsPreset::kNone;
    if (text == "default") return AlertsPreset::kDefault;
  }
  return invalid("spec.alertsPreset",
                 "unknown preset " + preset.dump() + " (known: none, default)");
}

std::vector<AlertRule> default_preset_rules(const RuleContext& context) {
  const std::string lag(metric::kConsumerLag);
  std::vector<AlertRule> rules;
  rules.push_back(preset_rule("ConsumerLagHigh", {{lag, Op::kGreater, 1000}}, 120,
                              Severity::kMedium,
                              "consumer lag on {{ .queue }} is {{ .value }} messages (above "
                              "{{ .threshold }} for 2m)"));
  rules.push_back(preset_rule("ConsumerLagCritical", {{lag, Op::kGreater, 5000}}, 0,
                              Severity::kCritical,
                              "consumer lag on {{ .queue }} is {{ .value }} messages (above "
                              "{{ .threshold }})"));
  rules.push_back(preset_rule(
      "LagSecondsHigh",
      {{std::string(metric::kLagSeconds), Op::kGreater, context.target_drain_seconds}}, 120,
      Severity::kHigh,
      "consumers of {{ .queue }} are {{ .value }} s behind (drain target {{ .threshold }} s, for "
      "2m)"));
  rules.push_back(preset_rule("ConsumerGroupEmpty",
                              {{std::string(metric::kConsumers), Op::kEqual, 0},
                               {lag, Op::kGreater, context.activation_lag}},
                              60, Severity::kHigh,
                              "no consumers in the group while {{ .queue }} has lag"));
  const std::int64_t unreachable_for =
      static_cast<std::int64_t>(std::max(0, context.source_failure_threshold - 1) *
                                std::max(1, context.poll_interval_seconds));
  rules.push_back(preset_rule(
      "SourceUnreachable", {{std::string(metric::kSourceReachable), Op::kEqual, 0}},
      unreachable_for, Severity::kCritical, "the queue source of {{ .queue }} is unreachable"));
  rules.push_back(preset_rule("ScaledToMaxWithGrowingLag",
                              {{std::string(metric::kScaledToMaxWithGrowingLag), Op::kEqual, 1}},
                              300, Severity::kHigh,
                              "at maximum replicas while lag on {{ .queue }} keeps growing"));
  return rules;
}

std::map<std::string, std::string> alert_labels(const AlertRule& rule, const std::string& ns,
                                                const std::string& name, const std::string& topic) {
  std::map<std::string, std::string> labels = rule.labels;
  labels["alertname"] = rule.name;
  labels["severity"] = std::string(to_string(rule.severity));
  labels["namespace"] = ns;
  labels["queuemonitor"] = name;
  if (!topic.empty()) labels["topic"] = topic;
  return labels;
}

}  // namespace lagpilot::alerts
