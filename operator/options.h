#pragma once
// Command-line flags of the `lagpilot` binary.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lagpilot::operator_main {

struct RunOptions {
  std::string kubeconfig;               // empty: $KUBECONFIG, in-cluster, ~/.kube/config
  std::vector<std::string> namespaces;  // empty: all
  std::string metrics_bind_address = ":8080";
  std::string health_probe_bind_address = ":8081";
  std::string log_level = "info";
  std::string log_format = "auto";  // auto: text on a terminal, json otherwise
  int workers = 8;
  int status_writers = 8;  // threads that send status writes, apart from the workers' polls
  std::chrono::seconds metrics_status_interval{30};
  int kafka_poll_timeout_ms = 5000;
  bool leader_elect = false;
  std::string leader_election_namespace;  // default: the in-cluster namespace, else "default"
  std::string leader_election_id = "lagpilot-leader";
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
  // --shards auto: every replica takes part, each polling and writing for its share of the
  // monitors (operator/shards.h); off: one process does everything (with --leader-elect, the
  // Lease's holder).
  bool shards = false;
  bool per_partition_metrics = false;
  // Where credentials from Secrets may be sent: "[kind/]host[:port]" patterns
  // (controllers/credentials.h); empty: anywhere.
  std::vector<std::string> allowed_credential_destinations;
  // /healthz fails when a loop it watches has not turned for this long.
  std::chrono::seconds health_stall_timeout{60};
  // Start-up fails when no page of the caches' first lists arrived for this long.
  std::chrono::seconds cache_sync_timeout{60};
  // Traces (docs/tracing.md): OTLP/HTTP receiver's base URL (empty: tracing off) and the share
  // of reconciles traced.
  std::string otlp_endpoint;
  double trace_sampling_ratio = 1.0;
};

// Parses `args` (without the program and subcommand). Errors name the flag.
Result<RunOptions> parse_run_options(const std::vector<std::string>& args);

std::string run_usage();

}  // namespace lagpilot::operator_main
