#pragma once
// What the demo observed, written so that `lagpilot simulate --replay FILE` can replay the run
// (sim/replay.h reads it). A CSV file: "# key: value" header lines with what the replay needs,
// then one row per sampled second:
//
//   # lagpilot-demo recording v1
//   # seed: 1
//   # serviceRate: 150          msg/s one running consumer processes
//   # partitions: 12
//   # podReadyDelay: 3          s the pod-readiness stand-in waits before marking a pod Ready
//   # commitInterval: 0.2       s between a consumer's offset commits
//   # rebalancePause: 0.31      s, median over reassignments and workers from the start of a
//                               reassignment to the worker's first record (absent: none seen)
//   # rebalancePauseMean: 0.35  s, their mean
//   # rebalancePauses: 52       how many were measured
//   # groupMembersVisible: false  whether the operator's polls see the group's members (the
//                               mock cluster cannot describe groups: false)
//   # pollInterval: 1           s, spec.pollIntervalSeconds
//   # objective: 10             s, violation: lagSeconds above this
//   # initialReplicas: 1        spec.replicas when the load started
//   # spec: NAME.yaml           the QueueMonitor as applied, beside this file
//   # violationSeconds: 23      the real run's figures (util/run_summary.h, as the demo prints)
//   # replicaSeconds: 412.3
//   time,arrivals,processed,lag,lagSeconds,replicasDesired,replicasReady,consumersRunning,
//   specChangedAt,consumersChangedAt
//   1.000,612,150,462,3.2,1,1,1,,
//
// time: seconds since the load started at the row's end; arrivals/processed: records produced /
// processed during the interval ending there; lag/lagSeconds: the operator's latest poll (empty:
// not known yet); replicasDesired: the Deployment's spec.replicas; replicasReady: its
// status.readyReplicas; consumersRunning: the demo's consumers holding partitions;
// specChangedAt/consumersChangedAt: when during the interval the operator last scaled / the running
// consumers last changed (s since the load started, ms precision; empty: no change), so that the
// start-up delay is measured to the millisecond rather than the row.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/demo/live_view.h"
#include "util/result.h"
#include "util/run_summary.h"

namespace lagpilot::demo {

struct RecordingInfo {
  std::uint64_t seed = 0;
  double service_rate = 0;
  int partitions = 0;
  double pod_ready_delay = 0;
  double commit_interval = 0;
  std::vector<double> rebalance_pauses;  // ConsumerFleet::reassignment_pauses()
  bool group_members_visible = false;
  int poll_interval = 0;
  double objective_seconds = 0;
  int initial_replicas = 0;
  std::string spec_file;  // the QueueMonitor YAML's file name, relative to the recording
  std::string pattern;    // LoadPattern::describe()
};

// The whole file: header and one row per sample.
std::string recording_csv(const RecordingInfo& info, const RunSummary& real,
                          const std::vector<Sample>& samples);

// Sets each sample's spec_changed_at / consumers_changed_at from the operator's scales and the
// consumers' changes (times in seconds since the load started): the last one inside the sample's
// interval (previous sample's t, t].
void attach_change_times(std::vector<Sample>& samples, const std::vector<double>& scale_times,
                         const std::vector<double>& consumer_change_times);

// Where --record writes by default: beside the plot, "X.svg" -> "X-run.csv".
std::string default_recording_path(const std::string& plot_path);
// The QueueMonitor YAML beside the recording: "X-run.csv" -> "X-run-queuemonitor.yaml".
std::string recording_spec_path(const std::string& recording_path);

// Writes the recording and its QueueMonitor YAML (`monitor_yaml`). Errors name the file.
Status write_recording(const std::string& path, const RecordingInfo& info, const RunSummary& real,
                       const std::vector<Sample>& samples, const std::string& monitor_yaml);

}  // namespace lagpilot::demo
