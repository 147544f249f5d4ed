#include "api/queuemonitor_spec.h"

#include <limits>

#include "util/json_integer.h"

namespace lagpilot::api {
namespace {

using Json = nlohmann::json;

Error invalid(const std::string& path, const std::string& message) {
  return Error{"InvalidSpec", path + ": " + message};
}

// Reads optional fields of one JSON object, remembering the first problem with its path.
class FieldReader {
 public:
  FieldReader(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::optional<Error> error() const { return error_; }

  bool has(const char* key) const {
    return object_.is_object() && object_.contains(key) && !object_[key].is_null();
  }
  const Json& child(const char* key) const {
    static const Json kNull;
    return has(key) ? object_[key] : kNull;
  }
  std::string field(const char* key) const { return path_ + "." + key; }

  template <typename Int>
  void integer(const char* key, Int& out, long long min, long long max) {
    if (!has(key) || error_) return;
    const Json& value = object_[key];
    const auto exact = json_int64(value);
    if (!exact && exact.error() == JsonIntegerProblem::kOutOfRange) {
      error_ = invalid(field(key), "out of range: must be between " + std::to_string(min) +
                                       " and " + std::to_string(max) + ", got " + value.dump());
      return;
    }
    if (!exact) {
      error_ = invalid(field(key), "must be an integer");
      return;
    }
    const long long number = *exact;
    if (number < min || number > max) {
      error_ = invalid(field(key), "must be between " + std::to_string(min) + " and " +
                                       std::to_string(max) + ", got " + std::to_string(number));
      return;
    }
    out = static_cast<Int>(number);
  }

  void number(const char* key, double& out, double min, double max) {
    if (!has(key) || error_) return;
    const Json& value = object_[key];
    if (!value.is_number()) {
      error_ = invalid(field(key), "must be a number");
      return;
    }
    double number = value.get<double>();
    if (number < min || number > max) {
      error_ =
          invalid(field(key), "must be between " + Json(min).dump() + " and " + Json(max).dump());
      return;
    }
    out = number;
  }

  void string(const char* key, std::string& out, bool required) {
    if (error_) return;
    if (!has(key)) {
      if (required) error_ = invalid(field(key), "required");
      return;
    }
    if (!object_[key].is_string()) {
      error_ = invalid(field(key), "must be a string");
      return;
    }
    out = object_[key].get<std::string>();
    if (required && out.empty()) error_ = invalid(field(key), "must not be empty");
  }

  void fail(const std::string& key, const std::string& message) {
    if (!error_) error_ = invalid(path_ + "." + key, message);
  }
  void fail_with(const Error& error) {
    if (!error_) error_ = error;
  }

 private:
  const Json& object_;
  std::string path_;
  std::optional<Error> error_;
};

void read_rules(FieldReader& parent, const char* key, scaler::ScalingRules& rules) {
  if (!parent.has(key)) return;
  const Json& object = parent.child(key);
  if (!object.is_object()) return parent.fail(key, "must be an object");
  FieldReader reader(object, parent.field(key));
  reader.integer("stabilizationSeconds", rules.stabilization_seconds, 0, 3600);
  reader.integer("maxPodsPerPeriod", rules.max_pods_per_period, 1, 100000);
  reader.integer("maxPercentPerPeriod", rules.max_percent_per_period, 1, 100000);
  reader.integer("periodSeconds", rules.period_seconds, 1, 1800);
  std::string select;
  reader.string("selectPolicy", select, false);
  if (select == "Min")
    rules.select_policy = scaler::SelectPolicy::kMin;
  else if (select == "Disabled")
    rules.select_policy = scaler::SelectPolicy::kDisabled;
  else if (!select.empty() && select != "Max")
    reader.fail("selectPolicy", "must be Max, Min or Disabled, got \"" + select + "\"");
  if (auto error = reader.error()) parent.fail_with(*error);
}

// The goodWhen threshold of the first spec.slos item on lagSeconds with op "<=" or "<": the
// freshness objective the drainTime planner plans for. Malformed SLOs are the SLO module's to
// report (the status names them); they give no objective here.
std::optional<double> freshness_objective(const Json& slos) {
  if (!slos.is_array()) return std::nullopt;
  for (const Json& slo : slos) {
    if (!slo.is_object() || slo.value("metric", Json()) != "lagSeconds") continue;
    const Json good = slo.value("goodWhen", Json());
    if (!good.is_object()) continue;
    const Json op = good.value("op", Json());
    const Json threshold = good.value("threshold", Json());
    if ((op == "<=" || op == "<") && threshold.is_number() && threshold.get<double>() > 0)
      return threshold.get<double>();
  }
  return std::nullopt;
}

}  // namespace

Result<QueueMonitorSpec> parse_queue_monitor_spec(const Json& spec) {
  if (!spec.is_object()) return invalid("spec", "required");
  QueueMonitorSpec out;
  FieldReader top(spec, "spec");

  // source: exactly one kind.
  const Json& source = top.child("source");
  if (!source.is_object() || source.empty())
    return invalid("spec.source", "required: set exactly one source");
  if (source.size() != 1)
    return invalid("spec.source", "set exactly one source, found " + std::to_string(source.size()));
  out.source_kind = source.begin().key();
  out.source = source.begin().value();
  std::string source_path = "spec.source." + out.source_kind;
  if (!out.source.is_object()) return invalid(source_path, "must be an object");

  top.integer("pollIntervalSeconds", out.poll_interval_seconds, 1, 3600);

  const Json& target = top.child("target");
  if (!target.is_object()) return invalid("spec.target", "required");
  FieldReader target_reader(target, "spec.target");
  target_reader.string("apiVersion", out.target.api_version, true);
  target_reader.string("kind", out.target.kind, true);
  target_reader.string("name", out.target.name, true);
  if (auto error = target_reader.error()) return *error;

  const Json& scaling = top.child("scaling");
  if (!scaling.is_null()) {
    if (!scaling.is_object()) return invalid("spec.scaling", "must be an object");
    FieldReader reader(scaling, "spec.scaling");
    scaler::ScalingSpec& s = out.scaling;
    std::string mode, policy;
    reader.string("mode", mode, false);
    reader.string("policy", policy, false);
    if (!mode.empty()) {
      auto parsed = scaler::parse_mode(mode);
      if (!parsed)
        return invalid("spec.scaling.mode", "must be Active or DryRun, got \"" + mode + "\"");
      s.mode = *parsed;
    }
    if (!policy.empty()) {
      auto parsed = scaler::parse_policy(policy);
      if (!parsed) {
        return invalid("spec.scaling.policy",
                       "must be drainTime, lagPerReplica or depthLatency, got \"" + policy + "\"");
      }
      s.policy = *parsed;
    }
    reader.integer("minReplicas", s.min_replicas, 0, 100000);
    reader.integer("maxReplicas", s.max_replicas, 1, 100000);
    reader.integer("targetDrainSeconds", s.target_drain_seconds, 1, 86400);
    reader.integer("targetLagPerReplica", s.target_lag_per_replica, 1,
                   std::numeric_limits<long long>::max());
    reader.integer("activationLag", s.activation_lag, 0, std::numeric_limits<long long>::max());
    reader.number("tolerance", s.tolerance, 0, 1);
    reader.integer("cooldownSeconds", s.cooldown_seconds, 0, 86400);
    reader.integer("historyLimit", s.history_limit, 1, 100);
    std::string on_delete;
    reader.string("onDelete", on_delete, false);
    if (on_delete == "Restore") {
      out.on_delete = OnDelete::kRestore;
    } else if (!on_delete.empty() && on_delete != "Keep") {
      return invalid("spec.scaling.onDelete", "must be Keep or Restore, got \"" + on_delete + "\"");
    }
    if (reader.has("startupDelaySeconds")) {
      int startup_delay = 0;
      reader.integer("startupDelaySeconds", startup_delay, 0, 3600);
      s.startup_delay_seconds = startup_delay;
    }
    // Written fields win over the planner's choices; the CRD gives them no schema default, so an
    // omitted field arrives omitted.
    s.user_set = {.target_drain_seconds = reader.has("targetDrainSeconds"),
                  .scale_up = reader.has("scaleUp"),
                  .scale_down = reader.has("scaleDown"),
                  .cooldown_seconds = reader.has("cooldownSeconds")};
    read_rules(reader, "scaleUp", s.scale_up);
    read_rules(reader, "scaleDown", s.scale_down);
    if (reader.has("fallback")) {
      FieldReader fallback(reader.child("fallback"), "spec.scaling.fallback");
      fallback.integer("failureThreshold", s.fallback.failure_threshold, 1, 1000);
      if (fallback.has("replicas")) {
        int replicas = 0;
        fallback.integer("replicas", replicas, 0, 100000);
        s.fallback.replicas = replicas;
      }
      if (auto error = fallback.error()) return *error;
    }
    if (auto error = reader.error()) return *error;
    if (s.min_replicas > s.max_replicas) {
      return invalid("spec.scaling.maxReplicas", "must be >= minReplicas (" +
                                                     std::to_string(s.min_replicas) + "), got " +
                                                     std::to_string(s.max_replicas));
    }
    if (auto checked = scaler::validate(s); !checked) return checked.error();
  }

  out.latency = top.child("latency");
  out.alerts = top.has("alerts") ? top.child("alerts") : Json::array();
  out.slos = top.has("slos") ? top.child("slos") : Json::array();
  out.notifications = top.has("notifications") ? top.child("notifications") : Json();
  top.string("alertsPreset", out.alerts_preset, false);
  if (!out.alerts.is_array()) return invalid("spec.alerts", "must be a list");
  if (!out.slos.is_array()) return invalid("spec.slos", "must be a list");
  if (auto error = top.error()) return *error;
  out.scaling.freshness_objective_seconds = freshness_objective(out.slos);
  return out;
}

Status check_spec_for_operator(const QueueMonitorSpec& spec) {
  if (spec.scaling.policy == scaler::Policy::kDepthLatency && spec.latency.is_null())
    return invalid("spec.latency", "required by spec.scaling.policy depthLatency");
  return Ok{};
}

}  // namespace lagpilot::api
