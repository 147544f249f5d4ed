#include "alerts/monitor_alerting.h"

#include <algorithm>
#include <set>

#include "alerts/status_json.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxStatusAlerts = 100;  // status.alerts maxItems
constexpr std::size_t kMaxStatusSlos = 10;     // status.slos maxItems

const Json& field(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

Duration max_gap_for(int poll_interval_seconds) {
  return std::max<Duration>(std::chrono::seconds(3 * std::max(1, poll_interval_seconds)),
                            std::chrono::seconds(60));
}

// Names of spec.slos items that did not parse, so their buckets can wait for a fix.
std::set<std::string> names_of_invalid_slos(const Json& slos, const std::vector<SloSpec>& valid) {
  std::set<std::string> names;
  if (!slos.is_array()) return names;
  for (const auto& item : slos) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) continue;
    const std::string name = item["name"].get<std::string>();
    const bool is_valid = std::any_of(valid.begin(), valid.end(),
                                      [&](const SloSpec& spec) { return spec.name == name; });
    if (!is_valid) names.insert(name);
  }
  return names;
}

}  // namespace

std::string ConfigureReport::message() const {
  std::string out;
  for (const auto& error : errors) {
    if (!out.empty()) out += "; ";
    out += error.message;
  }
  return out;
}

MonitorAlerting::MonitorAlerting(AlertingOptions options)
    : options_(options), alerts_({}, options.history_limit), progress_(options.progress) {}

ConfigureReport MonitorAlerting::configure(const Json& spec, const MonitorContext& context) {
  ConfigureReport report;
  context_ = context;
  RuleContext rule_context{MetricCatalog(context.latency_metric), context.target_drain_seconds,
                           context.activation_lag, context.poll_interval_seconds,
                           context.source_failure_threshold};

  auto preset = parse_alerts_preset(field(spec, "alertsPreset"));
  if (!preset) report.errors.push_back(preset.error());
  ParsedRules parsed_rules = parse_alert_rules(field(spec, "alerts"), rule_context.catalog);
  ParsedSlos parsed_slos = parse_slos(field(spec, "slos"), rule_context.catalog);
  report.errors.insert(report.errors.end(), parsed_rules.errors.begin(), parsed_rules.errors.end());
  report.errors.insert(report.errors.end(), parsed_slos.errors.begin(), parsed_slos.errors.end());

  std::vector<AlertRule> rules = std::move(parsed_rules.rules);
  std::set<std::string> names;
  for (const auto& rule : rules) names.insert(rule.name);
  auto add_generated = [&](std::vector<AlertRule> generated) {
    for (auto& rule : generated) {
      if (names.insert(rule.name).second) rules.push_back(std::move(rule));
    }
  };
  if (preset && *preset == AlertsPreset::kDefault)
    add_generated(default_preset_rules(rule_context));

  // SLO trackers: keep those that still measure the same thing.
  const Duration max_gap = max_gap_for(context.poll_interval_seconds);
  std::map<std::string, std::unique_ptr<SloTracker>> previous;
  for (auto& tracker : slos_) {
    const std::string name = tracker->spec().name;
    previous.emplace(name, std::move(tracker));
  }
  slos_.clear();
  const std::set<std::string> invalid_names =
      names_of_invalid_slos(field(spec, "slos"), parsed_slos.slos);
  for (auto& slo_spec : parsed_slos.slos) {
    add_generated(burn_rate_rules(slo_spec));
    auto it = previous.find(slo_spec.name);
    if (it != previous.end() && it->second->same_measure(slo_spec)) {
      it->second->set_objective(slo_spec.objective_percent);
      it->second->set_max_gap(max_gap);
      slos_.push_back(std::move(it->second));
      previous.erase(it);
      continue;
    }
    auto tracker = std::make_unique<SloTracker>(slo_spec, max_gap);
    auto dormant = dormant_buckets_.find(slo_spec.name);
    if (dormant != dormant_buckets_.end()) {
      (void)tracker->restore(dormant->second);  // another definition: starts afresh
    }
    slos_.push_back(std::move(tracker));
  }
  // SLOs whose item is now invalid wait, with their buckets, for a fix.
  std::map<std::string, std::string> dormant;
  for (const auto& name : invalid_names) {
    auto it = previous.find(name);
    if (it != previous.end()) {
      dormant[name] = it->second->serialize();
    } else if (auto kept = dormant_buckets_.find(name); kept != dormant_buckets_.end()) {
      dormant[name] = kept->second;
    }
  }
  dormant_buckets_ = std::move(dormant);
  invalid_slo_names_ = invalid_names;

  alerts_.set_identity({context.ns, context.name, context.topic, context.queue});
  alerts_.set_rules(std::move(rules));
  return report;
}

RestoreReport MonitorAlerting::restore(const Json& status) {
  RestoreReport report;
  if (last_) {
    report.skipped.push_back("already evaluating: restore is only for a fresh start");
    return report;
  }
  const std::vector<ActiveAlert> active = parse_active_alerts(field(status, "alerts"));
  const std::vector<ResolvedAlert> history = parse_alert_history(field(status, "alertHistory"));
  alerts_.restore(active, history);
  report.alerts = alerts_.active().size();
  report.history = alerts_.history().size();

  const Json& slos = field(status, "slos");
  if (!slos.is_array()) return report;
  for (const auto& entry : slos) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) continue;
    const std::string name = entry["name"].get<std::string>();
    const Json& buckets = field(entry, "buckets");
    if (!buckets.is_string()) continue;
    auto tracker = std::find_if(slos_.begin(), slos_.end(), [&](const auto& candidate) {
      return candidate->spec().name == name;
    });
    if (tracker == slos_.end()) {
      // An SLO whose spec item is invalid right now waits for a fix; others were removed.
      if (invalid_slo_names_.count(name)) dormant_buckets_[name] = buckets.get<std::string>();
      continue;
    }
    auto restored = (*tracker)->restore(buckets.get<std::string>());
    if (restored) {
      ++report.slos;
    } else {
      report.skipped.push_back("SLO " + name + ": " + restored.error().message);
    }
  }
  return report;
}

const Evaluation& MonitorAlerting::evaluate(const MetricSample& sample, WallTime now) {
  Evaluation evaluation;
  evaluation.time = now;

  MetricValues values;
  for (const auto& [name, value] : sample.metrics) {
    if (value) values[name] = *value;
  }
  values[std::string(metric::kSourceReachable)] = sample.source_reachable ? 1 : 0;

  const std::optional<double> lag = sample.get(metric::kConsumerLag)
                                        ? sample.get(metric::kConsumerLag)
                                        : sample.get(metric::kQueueDepth);
  GroupProgressInput progress_input;
  progress_input.time = now;
  progress_input.committed_offset_total = sample.committed_offset_total;
  progress_input.egress_rate = sample.get(metric::kEgressRate);
  progress_input.ingress_rate = sample.get(metric::kIngressRate);
  progress_input.consumer_lag = lag;
  progress_input.consumers = sample.get(metric::kConsumers);
  progress_input.replicas = sample.get(metric::kReplicas);
  evaluation.progress = progress_.observe(progress_input);
  evaluation.hold_scale_up = evaluation.progress.hold_scale_up();
  evaluation.hold_scale_up_reason = evaluation.progress.describe();

  // Replicas at the maximum while lag grows.
  const std::optional<bool> growing = evaluation.progress.lag_growing;
  if (!sample.replicas_at_max) {
    values[std::string(metric::kScaledToMaxWithGrowingLag)] = 0;
    growth_streak_ = 0;
  } else if (growing) {
    values[std::string(metric::kScaledToMaxWithGrowingLag)] = *growing ? 1 : 0;
    growth_streak_ = *growing ? growth_streak_ + 1 : 0;
  }
  evaluation.growing_at_max = growth_streak_ >= std::max(1, options_.growth_polls);

  for (auto& tracker : slos_) {
    tracker->record(now, classify(tracker->spec(), values));
    SloStatus status = tracker->status(now);
    for (const auto& [key, rate] : status.burn_rates) {
      values[burn_rate_metric(status.name, key)] = rate;
    }
    evaluation.slos.push_back(std::move(status));
  }

  AlertTracker::Step step = alerts_.evaluate(values, now);
  evaluation.active = std::move(step.active);
  evaluation.transitions = std::move(step.transitions);
  evaluation.history.assign(alerts_.history().begin(), alerts_.history().end());

  HealthInputs health;
  health.source_reachable = sample.source_reachable;
  health.source_error = sample.source_error;
  health.alerts = evaluation.active;
  health.slos = evaluation.slos;
  health.progress = evaluation.progress;
  health.growing_at_max = evaluation.growing_at_max;
  evaluation.health = assess_health(health);

  last_ = std::move(evaluation);
  return *last_;
}

Json MonitorAlerting::status_json() const {
  if (!last_) return Json::object();
  return alerts::status_json(*last_, dormant_buckets_);
}

Json status_json(const Evaluation& evaluation,
                 const std::map<std::string, std::string>& dormant_buckets) {
  std::vector<ActiveAlert> active = evaluation.active;
  if (active.size() > kMaxStatusAlerts) active.resize(kMaxStatusAlerts);
  Json slos = Json::array();
  for (const auto& slo : evaluation.slos) slos.push_back(slo_status_json(slo));
  for (const auto& [name, buckets] : dormant_buckets) {
    Json entry = {{"name", name}};
    if (!buckets.empty()) entry["buckets"] = buckets;
    slos.push_back(std::move(entry));
  }
  while (slos.size() > kMaxStatusSlos) slos.erase(slos.end() - 1);
  return {{"alerts", active_alerts_json(active)},
          {"alertHistory", alert_history_json(evaluation.history)},
          {"slos", std::move(slos)},
          {"health", std::string(to_string(evaluation.health.health))},
          {"healthReasons", health_reasons_json(evaluation.health)}};
}

}  // namespace lagpilot::alerts
