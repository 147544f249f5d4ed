#include "controlplane/pod_readiness.h"

#include <spdlog/spdlog.h>

namespace lagpilot::controlplane {
namespace {

bool is_ready(const kube::Json& pod) {
  for (const auto& condition : pod.value("/status/conditions"_json_pointer, kube::Json::array())) {
    if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True")
      return true;
  }
  return false;
}

kube::InformerOptions pod_options(std::string label_selector) {
  kube::InformerOptions options;
  options.label_selector = std::move(label_selector);
  return options;
}

}  // namespace

PodReadinessSimulator::PodReadinessSimulator(kube::KubeClient& client, Clock& clock, std::string ns,
                                             Duration startup_delay, std::string label_selector)
    : client_(client),
      clock_(clock),
      delay_(startup_delay),
      pods_(client, kube::resources::kPods, std::move(ns), clock,
            pod_options(std::move(label_selector))),
      queue_(clock) {
  pods_.add_handlers({[this](const kube::Json& pod) { on_pod(pod); },
                      [this](const kube::Json&, const kube::Json& pod) { on_pod(pod); }, nullptr});
}

PodReadinessSimulator::~PodReadinessSimulator() { stop(); }

void PodReadinessSimulator::start() {
  pods_.start();
  worker_ = std::thread([this] { worker(); });
}

void PodReadinessSimulator::stop() {
  queue_.shut_down();
  if (worker_.joinable()) worker_.join();
  pods_.stop();
}

void PodReadinessSimulator::on_pod(const kube::Json& pod) {
  if (pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp")) return;
  if (is_ready(pod)) return;
  queue_.add_after(kube::object_key(pod), delay_);
}

void PodReadinessSimulator::worker() {
  while (auto key = queue_.get()) {
    auto pod = pods_.get(*key);
    if (pod && !is_ready(*pod) && !(*pod)["metadata"].contains("deletionTimestamp")) {
      std::string now = format_rfc3339(clock_.now());
      kube::Json ready_condition = {
          {"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}};
      kube::Json containers = kube::Json::array();
      for (const auto& container :
           pod->value("/spec/containers"_json_pointer, kube::Json::array())) {
        containers.push_back({{"name", container.value("name", "")},
                              {"image", container.value("image", "")},
                              {"imageID", ""},
                              {"ready", true},
                              {"started", true},
                              {"restartCount", 0},
                              {"state", {{"running", {{"startedAt", now}}}}}});
      }
      kube::Json patch = {
          {"status",
           {{"phase", "Running"},
            {"podIP", "127.0.0.1"},
            {"startTime", now},
            {"conditions",
             {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", now}},
              {{"type", "Initialized"}, {"status", "True"}, {"lastTransitionTime", now}},
              {{"type", "ContainersReady"}, {"status", "True"}, {"lastTransitionTime", now}},
              ready_condition}},
            {"containerStatuses", containers}}}};
      auto [ns, name] = [&] {
        auto slash = key->find('/');
        return std::make_pair(key->substr(0, slash), key->substr(slash + 1));
      }();
      auto patched = client_.patch(kube::resources::kPods, ns, name,
                                   kube::PatchType::kStrategicMerge, patch, "status");
      if (patched) {
        ++marked_;
      } else if (patched.error().reason != kube::ApiReason::kNotFound) {
        spdlog::debug("pod-readiness pod={} mark ready failed: {}", *key, patched.error().message);
        queue_.add_rate_limited(*key);
      }
    }
    queue_.done(*key);
  }
}

}  // namespace lagpilot::controlplane
