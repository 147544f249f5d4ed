#include "tools/demo/recording.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

namespace lagpilot::demo {
namespace {

std::string number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

// "X.ext" -> "X" + suffix; without an extension, X + suffix.
std::string replace_extension(const std::string& path, const std::string& suffix) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot == (slash == std::string::npos ? 0 : slash + 1)) {
    return path + suffix;
  }
  return path.substr(0, dot) + suffix;
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error{"Record", "--record " + path + ": cannot write the file"};
  return Ok{};
}

}  // namespace

std::string recording_csv(const RecordingInfo& info, const RunSummary& real,
                          const std::vector<Sample>& samples) {
  std::string out = "# lagpilot-demo recording v1\n";
  auto key = [&out](const std::string& name, const std::string& value) {
    out += "# " + name + ": " + value + "\n";
  };
  key("seed", std::to_string(info.seed));
  key("load", info.pattern);
  key("serviceRate", number(info.service_rate, 3));
  key("partitions", std::to_string(info.partitions));
  key("podReadyDelay", number(info.pod_ready_delay, 3));
  key("commitInterval", number(info.commit_interval, 3));
  if (!info.rebalance_pauses.empty()) {
    std::vector<double> sorted = info.rebalance_pauses;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
    key("rebalancePause", number(median, 3));
    key("rebalancePauseMean", number(mean, 3));
    key("rebalancePauses", std::to_string(n));
  }
  key("groupMembersVisible", info.group_members_visible ? "true" : "false");
  key("pollInterval", std::to_string(info.poll_interval));
  key("objective", number(info.objective_seconds, 3));
  key("initialReplicas", std::to_string(info.initial_replicas));
  key("spec", info.spec_file);
  key("violationSeconds", number(real.violation_seconds, 3));
  key("replicaSeconds", number(real.replica_seconds, 3));
  out +=
      "time,arrivals,processed,lag,lagSeconds,replicasDesired,replicasReady,consumersRunning,"
      "specChangedAt,consumersChangedAt\n";
  for (const Sample& s : samples) {
    out += number(s.t, 3) + "," + std::to_string(s.arrived_count) + "," +
           std::to_string(s.processed_count) + "," + (s.lag ? std::to_string(*s.lag) : "") + "," +
           (s.lag_seconds ? number(*s.lag_seconds, 3) : "") + "," + std::to_string(s.current) +
           "," + std::to_string(s.ready) + "," + std::to_string(s.consumers) + "," +
           (s.spec_changed_at ? number(*s.spec_changed_at, 3) : "") + "," +
           (s.consumers_changed_at ? number(*s.consumers_changed_at, 3) : "") + "\n";
  }
  return out;
}

void attach_change_times(std::vector<Sample>& samples, const std::vector<double>& scale_times,
                         const std::vector<double>& consumer_change_times) {
  auto last_within = [](const std::vector<double>& times, double from, double to) {
    std::optional<double> last;
    for (double t : times) {
      if (t > from && t <= to) last = t;
    }
    return last;
  };
  double previous = 0;  // what happened before the load started is not the run's
  for (Sample& s : samples) {
    s.spec_changed_at = last_within(scale_times, previous, s.t);
    s.consumers_changed_at = last_within(consumer_change_times, previous, s.t);
    previous = s.t;
  }
}

std::string default_recording_path(const std::string& plot_path) {
  return replace_extension(plot_path, "-run.csv");
}

std::string recording_spec_path(const std::string& recording_path) {
  return replace_extension(recording_path, "-queuemonitor.yaml");
}

Status write_recording(const std::string& path, const RecordingInfo& info, const RunSummary& real,
                       const std::vector<Sample>& samples, const std::string& monitor_yaml) {
  if (auto written = write_file(path, recording_csv(info, real, samples)); !written) return written;
  return write_file(recording_spec_path(path), monitor_yaml);
}

}  // namespace lagpilot::demo
