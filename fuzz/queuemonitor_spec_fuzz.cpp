// QueueMonitor spec parsing, as the operator reads it from the API server (JSON) and `lagpilot
// simulate` from a file (YAML): parse_queue_monitor_spec, then spec.alerts and spec.slos through
// the alerts module. The input is a QueueMonitor object or its .spec, in JSON, else in YAML.
// Invariants: no crash or undefined behaviour; every error is a value with code InvalidSpec whose
// message starts with the field ("spec...."); an accepted spec holds the schema's bounds; parsing
// is a function of the JSON value (a dump and re-parse gives the same answer).
#include <nlohmann/json.hpp>

#include "alerts/metric_sample.h"
#include "alerts/rules.h"
#include "alerts/slo.h"
#include "api/queuemonitor_spec.h"
#include "fuzz/fuzz_check.h"
#include "kube/yaml.h"

namespace {

using lagpilot::fuzz::names;
using Json = nlohmann::json;

std::string outcome(const lagpilot::Result<lagpilot::api::QueueMonitorSpec>& parsed) {
  if (!parsed) return "error: " + parsed.error().message;
  return "ok: " + parsed->source_kind + " " +
         parsed->source.dump(-1, ' ', false, Json::error_handler_t::replace) + " " +
         std::to_string(parsed->poll_interval_seconds) + " " + parsed->target.name + " " +
         std::to_string(parsed->scaling.min_replicas) + ".." +
         std::to_string(parsed->scaling.max_replicas);
}

void check_spec(const Json& spec) {
  const auto parsed = lagpilot::api::parse_queue_monitor_spec(spec);
  // YAML strings may hold bytes that are not UTF-8 (kube/yaml.h passes them through); JSON
  // cannot, so the round trip is for specs that JSON can carry.
  const std::string dumped = spec.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (dumped == spec.dump(-1, ' ', false, Json::error_handler_t::ignore)) {
    const auto again = lagpilot::api::parse_queue_monitor_spec(Json::parse(dumped));
    FUZZ_CHECK(outcome(parsed) == outcome(again), outcome(parsed) + " vs " + outcome(again));
  }
  if (!parsed) {
    FUZZ_CHECK(names(parsed.error(), "InvalidSpec", "spec"), parsed.error().message);
    FUZZ_CHECK(parsed.error().message.find(": ") != std::string::npos, parsed.error().message);
    return;
  }
  const auto& monitor = *parsed;
  FUZZ_CHECK(monitor.source.is_object(), monitor.source.dump());
  FUZZ_CHECK(monitor.poll_interval_seconds >= 1 && monitor.poll_interval_seconds <= 3600,
             std::to_string(monitor.poll_interval_seconds));
  FUZZ_CHECK(!monitor.target.api_version.empty() && !monitor.target.kind.empty() &&
                 !monitor.target.name.empty(),
             monitor.target.name);
  FUZZ_CHECK(monitor.scaling.min_replicas <= monitor.scaling.max_replicas,
             std::to_string(monitor.scaling.min_replicas));
  FUZZ_CHECK(monitor.alerts.is_array() && monitor.slos.is_array(), monitor.alerts.dump());
  if (auto operator_check = lagpilot::api::check_spec_for_operator(monitor); !operator_check) {
    FUZZ_CHECK(names(operator_check.error(), "InvalidSpec", "spec.latency"),
               operator_check.error().message);
  }
  const lagpilot::alerts::MetricCatalog catalog;
  for (const auto& error : lagpilot::alerts::parse_alert_rules(monitor.alerts, catalog).errors) {
    FUZZ_CHECK(names(error, "InvalidSpec", "spec.alerts"), error.message);
  }
  for (const auto& error : lagpilot::alerts::parse_slos(monitor.slos, catalog).errors) {
    FUZZ_CHECK(names(error, "InvalidSpec", "spec.slos"), error.message);
  }
}

void check_document(const Json& document) {
  const bool is_object = document.is_object() && document.contains("spec");
  check_spec(is_object ? document["spec"] : document);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(lagpilot::fuzz::text_of(data, size));
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    check_document(json);
    return 0;
  }
  const auto documents = lagpilot::kube::parse_yaml_documents(text, "fuzz.yaml");
  if (!documents) {
    FUZZ_CHECK(names(documents.error(), "InvalidYaml", "fuzz.yaml:"), documents.error().message);
    return 0;
  }
  for (const Json& document : *documents) check_document(document);
  return 0;
}
