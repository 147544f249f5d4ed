#include "controllers/monitor_cache.h"

#include <gtest/gtest.h>

namespace lagpilot::controllers {
namespace {

using kube::Json;

Json monitor_with_status() {
  return Json::parse(R"({
    "apiVersion": "lagpilot.io/v1alpha1", "kind": "QueueMonitor",
    "metadata": {"name": "orders", "namespace": "shop", "generation": 3,
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                 "lagpilot.io/paused": "true"},
                 "managedFields": [{"manager": "kubectl"}]},
    "spec": {"target": {"kind": "Deployment", "name": "consumer"}},
    "status": {"observedGeneration": 3, "health": "Healthy",
               "conditions": [{"type": "Ready", "status": "True"}],
               "scalingHistory": [{"from": 1, "to": 2}]}})");
}

TEST(MonitorCache, KeepsMetadataAndSpecParsedAndTheStatusAsText) {
  Json cached = monitor_with_status();
  const Json status = cached["status"];
  compact_cached_monitor(cached);
  EXPECT_FALSE(cached.contains("status"));
  EXPECT_FALSE(cached["metadata"].contains("managedFields"));
  EXPECT_EQ(cached["metadata"]["annotations"], Json::parse(R"({"lagpilot.io/paused": "true"})"));
  EXPECT_EQ(cached["spec"]["target"]["name"], "consumer");
  EXPECT_EQ(cached_status(cached), status);
}

TEST(MonitorCache, AMonitorWithoutStatusReadsAsAnEmptyStatus) {
  Json cached = monitor_with_status();
  cached.erase("status");
  cached["metadata"]["annotations"].erase("lagpilot.io/paused");
  compact_cached_monitor(cached);
  EXPECT_FALSE(cached["metadata"].contains("annotations"));  // only kubectl's was there
  EXPECT_EQ(cached_status(cached), Json::object());

  Json empty = monitor_with_status();
  empty["status"] = Json::object();
  compact_cached_monitor(empty);
  EXPECT_EQ(cached_status(empty), Json::object());
}

TEST(MonitorCache, AnObjectThatWasNotCompactedReadsItsParsedStatus) {
  const Json object = monitor_with_status();
  EXPECT_EQ(cached_status(object), object["status"]);
}

TEST(MonitorCache, CompactingTwiceChangesNothing) {
  Json cached = monitor_with_status();
  compact_cached_monitor(cached);
  Json again = cached;
  compact_cached_monitor(again);
  EXPECT_EQ(again, cached);
}

}  // namespace
}  // namespace lagpilot::controllers
