#include "operator/options.h"

#include <cstdlib>
#include <set>
#include <sstream>

#include "controllers/credentials.h"
#include "util/duration.h"

namespace lagpilot::operator_main {
namespace {

// "scheme://user:password@host/...": an '@' in the authority (before the first '/' after "//").
bool url_has_user_info(const std::string& url) {
  auto authority_begin = url.find("//");
  if (authority_begin == std::string::npos) return false;
  authority_begin += 2;
  auto authority_end = url.find_first_of("/?#", authority_begin);
  return url.substr(authority_begin, authority_end - authority_begin).find('@') !=
         std::string::npos;
}

Error flag_error(const std::string& flag, const std::string& message) {
  return Error{"InvalidFlag", "--" + flag + ": " + message};
}

std::optional<long> parse_long(const std::string& text) {
  try {
    std::size_t used = 0;
    long value = std::stol(text, &used);
    if (used != text.size()) return std::nullopt;
    return value;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::string run_usage() {
  return R"(Usage: lagpilot run [flags]

Runs the operator: watches QueueMonitors, polls their queues, scales their targets.

Flags:
  --kubeconfig PATH                  kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespaces a,b                   watch only these namespaces (default: all)
  --metrics-bind-address ADDR        Prometheus /metrics (default :8080; 0 disables)
  --health-probe-bind-address ADDR   /healthz and /readyz (default :8081; 0 disables)
  --health-stall-timeout DUR         /healthz fails when a loop has not turned for this long (default 60s)
  --cache-sync-timeout DUR           start-up fails when no page of the caches' first lists arrived
                                     for this long; a large cache may take longer in all (default 60s)
  --log-level LEVEL                  trace, debug, info, warn, error (default info)
  --log-format FORMAT                json, text or auto (default auto: text on a terminal)
  --workers N                        concurrent reconciles (default 8)
  --status-writers N                 threads sending status writes off the poll path (default 8)
  --metrics-status-interval DUR      least time between status writes of metric values alone (default 30s)
  --kafka-poll-timeout-ms N          bound on one Kafka poll (default 5000)
  --leader-elect                     run with Lease-based leader election
  --shards auto|off                  auto: every replica polls and writes for its share of the
                                     monitors, by member Leases in the leader-election namespace
                                     (docs/sharding.md; not with --leader-elect); default off
  --leader-election-namespace NS     where the Lease lives (default: own namespace, else default)
  --leader-election-id NAME          the Lease's name (default lagpilot-leader)
  --lease-duration DUR               leader or member Lease (default 15s)
  --renew-deadline DUR               no writes unless renewed this recently (default 10s)
  --retry-period DUR                 (default 2s)
  --per-partition-metrics            add per-partition lag series to /metrics
  --allowed-credential-destinations P,...
                                     servers that Secret values may be sent to, as [kind/]host[:port]
                                     patterns (host: name, IP, * or *.suffix; kind: kafka,
                                     prometheus, rabbitmq, redisStreams, natsJetStream); repeatable;
                                     default: anywhere (docs/security.md)
  --otlp-endpoint URL                send traces of every reconcile over OTLP/HTTP to URL/v1/traces,
                                     e.g. http://jaeger-collector:4318 (default: off; docs/tracing.md)
  --trace-sampling-ratio R           share of reconciles traced, 0 to 1 (default 1)
)";
}

Result<RunOptions> parse_run_options(const std::vector<std::string>& args) {
  RunOptions options;
  static const std::set<std::string> kBooleans = {"leader-elect", "per-partition-metrics"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) != 0) return Error{"InvalidFlag", "unexpected argument \"" + arg + "\""};
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (kBooleans.count(name)) {
      bool flag = !has_value || value == "true";
      if (has_value && value != "true" && value != "false")
        return flag_error(name, "must be true or false");
      if (name == "leader-elect") options.leader_elect = flag;
      if (name == "per-partition-metrics") options.per_partition_metrics = flag;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return flag_error(name, "needs a value");
      value = args[++i];
    }
    auto duration = [&](std::chrono::seconds& out) -> std::optional<Error> {
      auto parsed = parse_whole_seconds(value);
      if (!parsed) return flag_error(name, parsed.error().message);
      out = *parsed;
      return std::nullopt;
    };
    std::optional<Error> error;
    if (name == "kubeconfig") {
      options.kubeconfig = value;
    } else if (name == "namespaces") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (!item.empty()) options.namespaces.push_back(item);
      }
    } else if (name == "allowed-credential-destinations") {
      std::stringstream list(value);
      std::string item;
      while (!error && std::getline(list, item, ',')) {
        if (item.empty()) continue;
        auto pattern = controllers::parse_destination_pattern(item);
        if (!pattern)
          error = flag_error(name, pattern.error().message);
        else
          options.allowed_credential_destinations.push_back(item);
      }
    } else if (name == "metrics-bind-address") {
      options.metrics_bind_address = value;
    } else if (name == "health-probe-bind-address") {
      options.health_probe_bind_address = value;
    } else if (name == "health-stall-timeout") {
      error = duration(options.health_stall_timeout);
      if (!error && options.health_stall_timeout < std::chrono::seconds(1))
        error = flag_error(name, "must be at least 1s");
    } else if (name == "cache-sync-timeout") {
      error = duration(options.cache_sync_timeout);
      if (!error && options.cache_sync_timeout < std::chrono::seconds(1))
        error = flag_error(name, "must be at least 1s");
    } else if (name == "log-level") {
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
      if (!kLevels.count(value))
        error = flag_error(name, "must be one of trace, debug, info, warn, error");
      options.log_level = value;
    } else if (name == "log-format") {
      if (value != "json" && value != "text" && value != "auto")
        error = flag_error(name, "must be json, text or auto");
      options.log_format = value;
    } else if (name == "workers") {
      auto n = parse_long(value);
      if (!n || *n < 1 || *n > 256)
        error = flag_error(name, "must be a whole number from 1 to 256");
      else
        options.workers = static_cast<int>(*n);
    } else if (name == "status-writers") {
      auto n = parse_long(value);
      if (!n || *n < 1 || *n > 256)
        error = flag_error(name, "must be a whole number from 1 to 256");
      else
        options.status_writers = static_cast<int>(*n);
    } else if (name == "kafka-poll-timeout-ms") {
      auto n = parse_long(value);
      if (!n || *n < 100 || *n > 60000)
        error = flag_error(name, "must be from 100 to 60000");
      else
        options.kafka_poll_timeout_ms = static_cast<int>(*n);
    } else if (name == "metrics-status-interval") {
      error = duration(options.metrics_status_interval);
    } else if (name == "shards") {
      if (value != "auto" && value != "off") error = flag_error(name, "must be auto or off");
      options.shards = value == "auto";
    } else if (name == "leader-election-namespace") {
      options.leader_election_namespace = value;
    } else if (name == "leader-election-id") {
      options.leader_election_id = value;
    } else if (name == "lease-duration") {
      error = duration(options.lease_duration);
    } else if (name == "renew-deadline") {
      error = duration(options.renew_deadline);
    } else if (name == "retry-period") {
      error = duration(options.retry_period);
    } else if (name == "otlp-endpoint") {
      if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
        error = flag_error(name, "must be an http:// or https:// URL");
      else if (url_has_user_info(value))
        error = flag_error(name,
                           "must not carry credentials (user:password@): the endpoint is "
                           "logged; lagpilot sends no credentials to the OTLP receiver");
      options.otlp_endpoint = value;
    } else if (name == "trace-sampling-ratio") {
      char* end = nullptr;
      double ratio = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(ratio >= 0 && ratio <= 1))
        error = flag_error(name, "must be a number from 0 to 1");
      else
        options.trace_sampling_ratio = ratio;
    } else {
      return Error{"InvalidFlag", "unknown flag --" + name + " (see lagpilot run --help)"};
    }
    if (error) return *error;
  }
  if (options.leader_elect && options.shards) {
    return flag_error("shards",
                      "auto and --leader-elect exclude each other: with shards every "
                      "replica works on its own share, no replica leads");
  }
  if ((options.leader_elect || options.shards) &&
      options.renew_deadline >= options.lease_duration) {
    return flag_error("renew-deadline", "must be shorter than --lease-duration");
  }
  if (options.shards && options.leader_election_id.size() > 63) {
    return flag_error("leader-election-id",
                      "with --shards auto at most 63 characters (it labels the member Leases)");
  }
  // The safety margin (lease duration - renew deadline) must cover a retry period, or a replica
  // renewing on time could be seen expired by another (operator/shards.h).
  if (options.shards && options.renew_deadline + options.retry_period >= options.lease_duration) {
    return flag_error("retry-period",
                      "with --shards auto, --renew-deadline plus --retry-period must be shorter "
                      "than --lease-duration");
  }
  return options;
}

}  // namespace lagpilot::operator_main
