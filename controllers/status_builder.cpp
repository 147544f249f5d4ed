#include "controllers/status_builder.h"

#include <cmath>

#include "alerts/metric_sample.h"

namespace lagpilot::controllers {

using nlohmann::json;

namespace {

json without_poll_time(json status) {
  if (status.contains("metrics") && status["metrics"].is_object())
    status["metrics"].erase("lastPollTime");
  return status;
}

double rounded(double value, double scale) { return std::round(value * scale) / scale; }

}  // namespace

StatusBuilder::StatusBuilder(json old_status, std::int64_t generation, WallTime now)
    : old_status_(std::move(old_status)), generation_(generation), now_(now) {
  if (!old_status_.is_object()) old_status_ = json::object();
  status_ = old_status_;
  conditions_ = status_.value("conditions", json::array());
  status_["observedGeneration"] = generation;
}

void StatusBuilder::queue_metrics(const QueueSnapshot& snapshot) {
  json metrics = {{"consumerLag", snapshot.consumer_lag},
                  {"queueDepth", snapshot.queue_depth},
                  {"partitions", snapshot.partitions},
                  {"lastPollTime", format_rfc3339(now_)}};
  if (snapshot.consumers) metrics["consumers"] = *snapshot.consumers;
  if (snapshot.lag_seconds) metrics["lagSeconds"] = rounded(*snapshot.lag_seconds, 1000);
  // How the source measured it (e.g. Kafka "fetch", Redis "stream-id"), so that an estimate is
  // never mistaken for an exact figure.
  if (snapshot.lag_seconds && !snapshot.lag_seconds_method.empty()) {
    metrics["lagSecondsMethod"] = snapshot.lag_seconds_method;
  }
  if (snapshot.ingress_rate) metrics["ingressRate"] = rounded(*snapshot.ingress_rate, 100);
  if (snapshot.egress_rate) metrics["egressRate"] = rounded(*snapshot.egress_rate, 100);
  status_["metrics"] = std::move(metrics);
}

void StatusBuilder::latency(const std::string& metric_name, double seconds) {
  json& metrics = status_["metrics"];
  if (!metrics.is_object()) metrics = json::object();
  const double value = rounded(seconds, 1e6);
  metrics["latency"] = {{metric_name, value}};
  if (metric_name == alerts::metric::kDefaultLatency) {
    metrics["latencyP95Seconds"] = value;
  } else {
    metrics.erase("latencyP95Seconds");
  }
}

void StatusBuilder::no_latency() {
  if (!status_.contains("metrics") || !status_["metrics"].is_object()) return;
  status_["metrics"].erase("latency");
  status_["metrics"].erase("latencyP95Seconds");
}

void StatusBuilder::set(const Condition& condition) {
  set_condition(conditions_, condition, generation_, now_);
}

void StatusBuilder::remove(const std::string& condition_type) {
  remove_condition(conditions_, condition_type);
}

bool StatusBuilder::is_news(const Condition& condition) const {
  const json old_conditions = old_status_.value("conditions", json::array());
  const json* before = find_condition(old_conditions, condition.type);
  return !before || before->value("status", "") != condition.status ||
         before->value("reason", "") != condition.reason;
}

void StatusBuilder::alerting(const json& fields) {
  for (const auto& [field, value] : fields.items()) status_[field] = value;
}

void StatusBuilder::health_unknown(const std::string& reason) {
  status_["health"] = "Unknown";
  status_["healthReasons"] = json::array({reason});
}

void StatusBuilder::scaling_history(const scaler::Decision& decision, bool dry_run,
                                    int history_limit) {
  json history = status_.value("scalingHistory", json::array());
  json entry = {{"time", format_rfc3339(now_)},
                {"from", decision.current_replicas},
                {"to", dry_run ? decision.replicas_if_unpaused : decision.desired_replicas},
                {"policy", decision.decided_by},
                {"reason", decision.reason.substr(0, 1000)}};
  if (dry_run) entry["dryRun"] = true;
  if (decision.catch_up) entry["catchUp"] = true;
  history.insert(history.begin(), std::move(entry));
  while (static_cast<int>(history.size()) > history_limit) history.erase(history.end() - 1);
  status_["scalingHistory"] = std::move(history);
  if (!dry_run) status_["lastScaleTime"] = format_rfc3339(now_);
}

void StatusBuilder::history_entry(int from, int to, const std::string& by,
                                  const std::string& reason, int history_limit) {
  json history = status_.value("scalingHistory", json::array());
  history.insert(history.begin(), json{{"time", format_rfc3339(now_)},
                                       {"from", from},
                                       {"to", to},
                                       {"policy", by},
                                       {"reason", reason.substr(0, 1000)}});
  while (static_cast<int>(history.size()) > history_limit) history.erase(history.end() - 1);
  status_["scalingHistory"] = std::move(history);
  if (by != "external") status_["lastScaleTime"] = format_rfc3339(now_);
}

void StatusBuilder::original_replicas(std::optional<int> replicas) {
  if (replicas) {
    status_["originalReplicas"] = *replicas;
  } else {
    status_.erase("originalReplicas");
  }
}

std::optional<int> StatusBuilder::original_replicas() const {
  auto it = status_.find("originalReplicas");
  if (it == status_.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

void StatusBuilder::webhook_deliveries(const std::vector<notify::WebhookDelivery>& deliveries) {
  if (deliveries.empty()) {
    status_.erase("webhookDeliveries");
    return;
  }
  json items = json::array();
  for (const auto& delivery : deliveries) {
    items.push_back({{"receiver", delivery.receiver},
                     {"deliveredAt", format_rfc3339(delivery.delivered_at)},
                     {"firing", delivery.firing}});
  }
  status_["webhookDeliveries"] = std::move(items);
}

std::vector<notify::WebhookDelivery> StatusBuilder::webhook_deliveries() const {
  std::vector<notify::WebhookDelivery> out;
  auto items = old_status_.find("webhookDeliveries");
  if (items == old_status_.end() || !items->is_array()) return out;
  for (const auto& item : *items) {
    if (!item.is_object() || !item.value("receiver", json()).is_string() ||
        !item.value("deliveredAt", json()).is_string() ||
        !item.value("firing", json()).is_array()) {
      continue;
    }
    auto delivered_at = parse_rfc3339(item["deliveredAt"].get<std::string>());
    if (!delivered_at) continue;
    notify::WebhookDelivery delivery{item["receiver"].get<std::string>(), *delivered_at, {}};
    for (const auto& fingerprint : item["firing"]) {
      if (fingerprint.is_string()) delivery.firing.push_back(fingerprint.get<std::string>());
    }
    out.push_back(std::move(delivery));
  }
  return out;
}

void StatusBuilder::replicas(int current, int desired) {
  status_["replicas"] = {{"current", current}, {"desired", desired}};
}

json StatusBuilder::build() const {
  json status = status_;
  status["conditions"] = conditions_;
  return status;
}

bool StatusBuilder::unchanged() const {
  return without_poll_time(old_status_) == without_poll_time(build());
}

bool StatusBuilder::only_running_figures() const {
  return without_running_figures(old_status_) == without_running_figures(build());
}

json without_running_figures(json status) {
  // Which metrics are known is news (e.g. the rates after the second poll); their values are not.
  if (status.contains("metrics") && status["metrics"].is_object()) {
    json known = json::array();
    for (const auto& [name, value] : status["metrics"].items()) {
      if (name != "lastPollTime") known.push_back(name);
    }
    status["metrics"] = known;
  }
  if (status.contains("slos") && status["slos"].is_array()) {
    for (auto& slo : status["slos"]) {
      if (!slo.is_object()) continue;
      // Kept: name and whether the budget is exhausted (health follows it at once).
      json kept = {{"name", slo.value("name", "")}};
      auto remaining = slo.find("errorBudgetRemainingPercent");
      if (remaining != slo.end() && remaining->is_number())
        kept["exhausted"] = remaining->get<double>() <= 0;
      slo = kept;
    }
  }
  if (status.contains("alerts") && status["alerts"].is_array()) {
    for (auto& alert : status["alerts"]) {
      if (!alert.is_object()) continue;
      alert.erase("value");
      alert.erase("summary");
    }
  }
  return status;
}

}  // namespace lagpilot::controllers
