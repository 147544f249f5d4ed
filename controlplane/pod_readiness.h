#pragma once
// There is no kubelet in the local control plane, so Pods stay Pending. This stand-in (the role
// kwok plays) marks Pods Running and Ready a configurable delay after they appear, so Deployments
// report ready replicas in tests and the demo.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/work_queue.h"
#include "util/clock.h"

namespace lagpilot::controlplane {

class PodReadinessSimulator {
 public:
  // `ns` empty: all namespaces. `label_selector` limits which Pods it touches.
  PodReadinessSimulator(kube::KubeClient& client, Clock& clock, std::string ns,
                        Duration startup_delay, std::string label_selector = "");
  ~PodReadinessSimulator();

  void start();
  void stop();
  int pods_marked_ready() const { return marked_; }

 private:
  void on_pod(const kube::Json& pod);
  void worker();

  kube::KubeClient& client_;
  Clock& clock_;
  Duration delay_;
  kube::Informer pods_;
  kube::WorkQueue queue_;
  std::thread worker_;
  std::atomic<int> marked_{0};
};

}  // namespace lagpilot::controlplane
