#pragma once
// `lagpilot demo`: lagpilot end to end on one machine, no cluster needed. Starts the local control
// plane (controlplane/start, building it on first use) or uses $KUBECONFIG's cluster, the queue
// (--source, tools/demo/demo_backend.h: librdkafka's mock Kafka cluster in this process by default,
// or a real rabbitmq-server, redis-server or nats-server on loopback), a consumer Deployment and a
// QueueMonitor in namespace "demo", a bursty seeded producer, consumers that really consume and
// acknowledge (one per ready replica) and the operator itself
// (the same QueueMonitorController wiring as `lagpilot run`). Shows the scaling live, prints a
// summary, writes an SVG plot and stops everything it started.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/demo/demo_backend.h"
#include "util/result.h"

namespace lagpilot::demo {

struct DemoOptions {
  DemoSource source = DemoSource::kKafka;  // --source
  std::chrono::seconds duration{120};
  std::uint64_t seed = 1;
  std::string plot_path = "lagpilot-demo.svg";
  // Where to write the recording (tools/demo/recording.h); nullopt: beside the plot
  // (default_recording_path).
  std::optional<std::string> record_path;
  // --objective-seconds: lagSeconds <= this is the QueueMonitor's freshness SLO (the default
  // policy's objective), its targetDrainSeconds and the summary's and recording's objective.
  int objective_seconds = 10;
  bool use_kubeconfig = false;
  bool keep = false;
  bool help = false;
};

// Errors name the flag: "--duration: \"2x\" is not a duration (e.g. 20s, 2m, 1m30s)".
Result<DemoOptions> parse_demo_options(const std::vector<std::string>& args);
// A duration of util/duration.h in whole seconds ("20s", "2m", "1m30s", "90"); more than 0, at
// most 24h.
Result<std::chrono::seconds> parse_demo_duration(const std::string& text);
std::string demo_usage();

// args: everything after "demo". Returns the exit code: 0 done (also when Ctrl-C ended the run
// early), 1 failure, 2 bad flags, 130 interrupted while setting up. Handles SIGINT/SIGTERM itself:
// the caller must not block them.
int run_demo(const std::vector<std::string>& args);

}  // namespace lagpilot::demo
