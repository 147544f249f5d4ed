#pragma once
// Small helpers shared by the tests and benchmarks that run against the local control plane.
#include <chrono>
#include <cstdint>
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

// Polls `sample` until its value has not changed for `quiet` (real time), at most `limit`: for
// counts a server or library may still be adding to in the background. True once it stood still.
inline bool eventually_steady(const std::function<std::int64_t()>& sample,
                              std::chrono::milliseconds quiet, std::chrono::milliseconds limit,
                              std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  std::int64_t last = sample();
  auto unchanged_since = std::chrono::steady_clock::now();
  return eventually(
      [&] {
        const std::int64_t value = sample();
        if (value != last) {
          last = value;
          unchanged_since = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - unchanged_since >= quiet;
      },
      limit, step);
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
