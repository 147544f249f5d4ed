// The pure parts of target ownership (controllers/target_ownership.h); the controller's use of
// them runs against the real API server in controller_test.cpp (OwnershipTest).
#include "controllers/target_ownership.h"

#include <gtest/gtest.h>

namespace lagpilot::controllers {
namespace {

using Json = nlohmann::json;

Json monitor(const std::string& name, const std::string& created, const std::string& mode) {
  return {{"metadata", {{"name", name}, {"namespace", "app"}, {"creationTimestamp", created}}},
          {"spec",
           {{"source", {{"kafka", {{"topic", "t"}}}}},
            {"target", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "consumer"}}},
            {"scaling", {{"mode", mode}}}}}};
}

TEST(TargetOwnership, TheOldestMonitorThenTheNameWins) {
  Json older = monitor("zeta", "2026-01-01T00:00:00Z", "Active");
  Json younger = monitor("alpha", "2026-01-01T00:00:01Z", "Active");
  EXPECT_TRUE(older_monitor(older, younger));
  EXPECT_FALSE(older_monitor(younger, older));
  Json same_second = monitor("beta", "2026-01-01T00:00:01Z", "Active");
  EXPECT_TRUE(older_monitor(younger, same_second)) << "same second: by name";
  EXPECT_FALSE(older_monitor(same_second, younger));
}

TEST(TargetOwnership, OnlyActiveValidLiveMonitorsClaim) {
  EXPECT_TRUE(claims_target(monitor("a", "2026-01-01T00:00:00Z", "Active")));
  EXPECT_FALSE(claims_target(monitor("a", "2026-01-01T00:00:00Z", "DryRun")));
  Json deleting = monitor("a", "2026-01-01T00:00:00Z", "Active");
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z";
  EXPECT_FALSE(claims_target(deleting));
  Json invalid = monitor("a", "2026-01-01T00:00:00Z", "Active");
  invalid["spec"]["scaling"]["minReplicas"] = 9;
  invalid["spec"]["scaling"]["maxReplicas"] = 2;
  EXPECT_FALSE(claims_target(invalid));
}

TEST(TargetOwnership, PausedReplicasIsAWholeNumberOrANamedError) {
  Json m = monitor("a", "", "Active");
  EXPECT_EQ(*paused_replicas(m), std::nullopt);
  m["metadata"]["annotations"] = {{"lagpilot.io/paused-replicas", "0"}};
  EXPECT_EQ(*paused_replicas(m), 0);
  m["metadata"]["annotations"] = {{"lagpilot.io/paused-replicas", "12"}};
  EXPECT_EQ(*paused_replicas(m), 12);
  for (const char* bad : {"", "-1", "1.5", "ten", "100001", "9999999"}) {
    m["metadata"]["annotations"] = {{"lagpilot.io/paused-replicas", bad}};
    auto parsed = paused_replicas(m);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("lagpilot.io/paused-replicas"), std::string::npos);
  }
}

TEST(TargetOwnership, AutoscalerIndexFollowsScaleTargetRefAndIgnoresStatusChurn) {
  AutoscalerIndex index;
  Json hpa = {{"metadata", {{"name", "cpu"}, {"namespace", "app"}}},
              {"spec", {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "consumer"}}}}}};
  const std::string consumer = target_key("app", "Deployment", "consumer");
  EXPECT_EQ(index.update("HorizontalPodAutoscaler", nullptr, &hpa, "Deployment"),
            std::vector<std::string>{consumer});
  EXPECT_EQ(index.autoscalers_of(consumer),
            std::vector<std::string>{"HorizontalPodAutoscaler cpu"});
  EXPECT_TRUE(index.update("HorizontalPodAutoscaler", &hpa, &hpa, "Deployment").empty());

  Json moved = hpa;
  moved["spec"]["scaleTargetRef"]["name"] = "other";
  const std::string other = target_key("app", "Deployment", "other");
  EXPECT_EQ(index.update("HorizontalPodAutoscaler", &hpa, &moved, "Deployment"),
            (std::vector<std::string>{consumer, other}));
  EXPECT_TRUE(index.autoscalers_of(consumer).empty());

  Json scaled_object = {{"metadata", {{"name", "kafka"}, {"namespace", "app"}}},
                        {"spec", {{"scaleTargetRef", {{"name", "consumer"}}}}}};
  index.update("ScaledObject", nullptr, &scaled_object, "Deployment");
  EXPECT_EQ(index.autoscalers_of(consumer), std::vector<std::string>{"ScaledObject kafka"})
      << "KEDA's kind defaults to Deployment";
  index.update("ScaledObject", &scaled_object, nullptr, "Deployment");
  EXPECT_TRUE(index.autoscalers_of(consumer).empty());
}

TEST(TargetOwnership, CachedAutoscalersKeepOnlyIdentityAndScaleTargetRef) {
  Json hpa = {
      {"apiVersion", "autoscaling/v2"},
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata", {{"name", "cpu"}, {"namespace", "app"}, {"managedFields", Json::array()}}},
      {"spec", {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "c"}}}, {"metrics", 1}}},
      {"status", {{"currentReplicas", 3}}}};
  keep_scale_target_ref(hpa);
  EXPECT_FALSE(hpa.contains("status"));
  EXPECT_FALSE(hpa["metadata"].contains("managedFields"));
  EXPECT_FALSE(hpa["spec"].contains("metrics"));
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"], "c");
}

}  // namespace
}  // namespace lagpilot::controllers
