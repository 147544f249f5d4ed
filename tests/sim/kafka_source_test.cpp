#include "sim/kafka_source.h"

#include <gtest/gtest.h>

namespace lagpilot::sim {
namespace {

QueueState at(std::int64_t time, double produced, double consumed) {
  QueueState state;
  state.time = time;
  state.produced = produced;
  state.consumed = consumed;
  state.lag = produced - consumed;
  state.lag_seconds = 3.5;
  state.latency_seconds = 3.5025;
  state.partitions = 24;
  state.consumers = 6;
  state.replicas = 8;
  return state;
}

TEST(SimulatedKafkaSource, ReportsWhatTheKafkaSourceReports) {
  SimulatedKafkaSource source;
  const scaler::Observation first = source.poll(at(0, 1000, 400.4));
  EXPECT_TRUE(first.ok);
  EXPECT_EQ(first.time, simulated_time(0));
  EXPECT_EQ(first.consumer_lag, 600);
  EXPECT_EQ(first.queue_depth, 600);
  EXPECT_EQ(first.lag_seconds, 3.5);
  EXPECT_EQ(first.latency_seconds, 3.5025);
  EXPECT_EQ(first.max_useful_consumers, 24);
  EXPECT_EQ(first.consumers, 6);
  // Rates need two polls.
  EXPECT_FALSE(first.ingress_rate);
  EXPECT_FALSE(first.egress_rate);

  const scaler::Observation second = source.poll(at(10, 31000, 20400.4));
  EXPECT_EQ(second.time, simulated_time(10));
  EXPECT_DOUBLE_EQ(*second.ingress_rate, 3000);
  EXPECT_DOUBLE_EQ(*second.egress_rate, 2000);
  EXPECT_EQ(second.consumer_lag, 10600);
}

TEST(SimulatedKafkaSource, SimulatedTimeIsFixed) {
  EXPECT_EQ(simulated_time(60) - simulated_time(0), std::chrono::seconds(60));
  EXPECT_EQ(format_rfc3339(simulated_time(0)), "2026-01-01T00:00:00Z");
}

TEST(SimulatedKafkaSource, HiddenMembersAreUnknownAndBackloggedPartitionsCountBothPolls) {
  SimulatedKafkaSource source;
  QueueState state = at(0, 1000, 400);
  state.members_visible = false;
  state.partitions_with_backlog = 7;
  const scaler::Observation first = source.poll(state);
  EXPECT_FALSE(first.consumers.has_value());
  EXPECT_EQ(first.partitions_with_backlog, 7);
  state = at(1, 1100, 1100);
  state.partitions_with_backlog = 0;
  EXPECT_EQ(source.poll(state).partitions_with_backlog, 7);  // lag at the previous poll
  EXPECT_EQ(source.poll(at(2, 1200, 1200)).partitions_with_backlog, std::nullopt);
}

TEST(SourceReporting, EachKindReportsWhatItsSourceCanTell) {
  const SourceReporting kafka = source_reporting_for("kafka", nlohmann::json::object());
  EXPECT_TRUE(kafka.partitioned && kafka.rates && kafka.consumers && kafka.lag_seconds &&
              kafka.progress);
  for (const char* kind : {"rabbitmq", "redisStreams", "natsJetStream"}) {
    const SourceReporting queue = source_reporting_for(kind, nlohmann::json::object());
    EXPECT_FALSE(queue.partitioned) << kind;
    EXPECT_TRUE(queue.rates && queue.consumers && queue.lag_seconds && queue.progress) << kind;
  }
  const SourceReporting depth_only =
      source_reporting_for("prometheus", {{"serverUrl", "http://p:9090"}, {"depthQuery", "q"}});
  EXPECT_FALSE(depth_only.partitioned || depth_only.rates || depth_only.consumers ||
               depth_only.lag_seconds || depth_only.progress);
  const SourceReporting with_age = source_reporting_for(
      "prometheus", {{"depthQuery", "q"}, {"lagSecondsQuery", "a"}, {"consumersQuery", "c"}});
  EXPECT_TRUE(with_age.lag_seconds && with_age.consumers);
  EXPECT_FALSE(with_age.rates || with_age.progress);
}

TEST(SourceReporting, APollTellsOnlyWhatTheKindReports) {
  SimulatedKafkaSource redis(source_reporting_for("redisStreams", nlohmann::json::object()));
  redis.poll(at(0, 1000, 400));
  const scaler::Observation stream = redis.poll(at(10, 31000, 20400));
  EXPECT_FALSE(stream.max_useful_consumers);
  EXPECT_EQ(stream.consumers, 6);
  EXPECT_DOUBLE_EQ(*stream.ingress_rate, 3000);

  SimulatedKafkaSource prometheus(source_reporting_for("prometheus", {{"depthQuery", "q"}}));
  prometheus.poll(at(0, 1000, 400));
  const scaler::Observation depth = prometheus.poll(at(10, 31000, 20400));
  EXPECT_EQ(depth.queue_depth, 10600);
  EXPECT_EQ(depth.consumer_lag, 10600);
  EXPECT_FALSE(depth.lag_seconds);
  EXPECT_FALSE(depth.consumers);
  EXPECT_FALSE(depth.max_useful_consumers);
  EXPECT_FALSE(depth.ingress_rate);
  EXPECT_FALSE(depth.egress_rate);
}

}  // namespace
}  // namespace lagpilot::sim
