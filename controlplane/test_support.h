#pragma once
// Small helpers shared by the tests and benchmarks that run against the local control plane.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "kube/client.h"

namespace lagpilot::controlplane {

// Polls `condition` until it holds or `limit` (real time) passes: for state that a real server
// reaches asynchronously. Not for timing logic, which runs on injected clocks.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(20),
                       std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

// A minimal Deployment whose Pods are labelled app=<name>.
inline kube::Json deployment_manifest(const std::string& name, int replicas) {
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", name}}},
      {"spec",
       {{"replicas", replicas},
        {"selector", {{"matchLabels", {{"app", name}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", name}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "example.com/consumer:1"}}}}}}}}}}};
}

}  // namespace lagpilot::controlplane
