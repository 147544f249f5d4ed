// The Kafka source cases that run against every cluster: librdkafka's mock cluster (metrics_tests,
// kafka_source_test.cpp) and a real Apache Kafka broker (kafka_broker_tests,
// kafka_broker_test.cpp). The fixture, KafkaSourceCase, is in kafka_source_test_support.h.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "sources/kafka/kafka_client.h"
#include "sources/kafka/kafka_source.h"
#include "tests/sources/kafka/kafka_source_test_support.h"

namespace lagpilot {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::expect_partition_lags;
using testkit::kafka_spec;
using testkit::KafkaSourceCase;
using testkit::kT0;
using testkit::make_source;
using testkit::poll_ok;

TEST_P(KafkaSourceCase, ReportsExactLagPerPartitionWithLatestReset) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  expect_partition_lags(snapshot, {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 0}});
  EXPECT_EQ(snapshot.consumer_lag, 32);
  EXPECT_EQ(snapshot.queue_depth, 32);
  EXPECT_EQ(snapshot.partitions, 4);
  EXPECT_EQ(snapshot.time, kT0 + seconds(60));
  EXPECT_FALSE(snapshot.ingress_rate.has_value());  // first poll: no rates
  EXPECT_FALSE(snapshot.egress_rate.has_value());
  // Default method: fetch, known from the first poll.
  EXPECT_EQ(snapshot.lag_seconds_method, "fetch");
  EXPECT_TRUE(snapshot.lag_seconds.has_value());
  if (kafka.describes_groups()) {
    EXPECT_EQ(snapshot.consumers, std::optional<int>(0));  // committed, no members
  } else {
    EXPECT_FALSE(snapshot.consumers.has_value());  // the mock cannot describe groups
  }
}

TEST_P(KafkaSourceCase, EarliestResetCountsEverythingRetainedOnUncommittedPartitions) {
  auto source = make_source(context, orders_spec({{"offsetResetPolicy", "earliest"}}));
  ASSERT_TRUE(source);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  expect_partition_lags(snapshot, {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 40}});
  EXPECT_EQ(snapshot.consumer_lag, 72);
}

TEST_P(KafkaSourceCase, FetchedLagSecondsIsTheAgeOfTheRecordAtTheCommittedOffset) {
  auto source = make_source(context, orders_spec({{"lagSecondsMethod", "fetch"}}));
  ASSERT_TRUE(source);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  EXPECT_EQ(snapshot.lag_seconds_method, "fetch");
  // Partition 0 waits on record 3 (T0 + 3 s), partition 2 on record 5 (T0 + 10.5 s).
  ASSERT_TRUE(snapshot.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*snapshot.lag_seconds, 57.0);

  auto earliest = make_source(
      context, orders_spec({{"lagSecondsMethod", "fetch"}, {"offsetResetPolicy", "earliest"}}));
  ASSERT_TRUE(earliest);
  // Partition 3 was never committed: its oldest record (T0 - 30 s) is the oldest unconsumed.
  const QueueSnapshot from_start = poll_ok(*earliest, kT0 + seconds(60));
  ASSERT_TRUE(from_start.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*from_start.lag_seconds, 90.0);
}

TEST_P(KafkaSourceCase, WithoutLagSecondsMethodTheRecordAtTheCommittedOffsetIsFetched) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  EXPECT_EQ(dynamic_cast<KafkaSource&>(*source).lag_seconds_method(),
            LagSecondsMethod::kFetchWithInterpolateFallback);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  // Every lagging partition's record was read: the value is fetch's alone.
  EXPECT_EQ(snapshot.lag_seconds_method, "fetch");
  ASSERT_TRUE(snapshot.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*snapshot.lag_seconds, 57.0);  // partition 0's record 3, stamped T0 + 3 s

  kafka.commit(group, topic, {{0, 10}});  // partition 0 done; partition 2 waits on record 5
  const QueueSnapshot caught_up = poll_ok(*source, kT0 + seconds(70));
  EXPECT_EQ(caught_up.lag_seconds_method, "fetch");
  ASSERT_TRUE(caught_up.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*caught_up.lag_seconds, 59.5);  // stamped T0 + 10.5 s
}

TEST_P(KafkaSourceCase, NoLagMeansZeroLagSeconds) {
  kafka.commit(group, topic, {{0, 10}, {2, 30}});
  for (const char* method : {"fetch", "interpolate"}) {
    auto source = make_source(context, orders_spec({{"lagSecondsMethod", method}}));
    ASSERT_TRUE(source);
    const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
    EXPECT_EQ(snapshot.consumer_lag, 0) << method;
    ASSERT_TRUE(snapshot.lag_seconds.has_value()) << method;
    EXPECT_EQ(*snapshot.lag_seconds, 0.0) << method;
  }
}

TEST_P(KafkaSourceCase, RatesComeFromTheChangeBetweenTwoPolls) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  const QueueSnapshot first = poll_ok(*source, kT0 + seconds(100));
  EXPECT_EQ(first.partitions_with_backlog, std::optional<int>(2));  // partitions 0 and 2

  kafka.produce(topic, 0, 50, kT0 + seconds(100));
  kafka.produce(topic, 1, 30, kT0 + seconds(100));
  // +15 on partition 0, +25 on partition 2; partition 3's first commit is not a rate yet.
  kafka.commit(group, topic, {{0, 18}, {2, 30}, {3, 7}});

  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(110));
  ASSERT_TRUE(snapshot.ingress_rate.has_value());
  ASSERT_TRUE(snapshot.egress_rate.has_value());
  EXPECT_DOUBLE_EQ(*snapshot.ingress_rate, 8.0);  // 80 records in 10 s
  EXPECT_DOUBLE_EQ(*snapshot.egress_rate, 4.0);   // 40 records in 10 s
  expect_partition_lags(snapshot,
                        {{0, 60, 18, 42}, {1, 50, 20, 30}, {2, 30, 30, 0}, {3, 40, 7, 33}});
  // 0, 1 and 3 have lag now; 2 had lag at the previous poll (its consumer worked until drained).
  EXPECT_EQ(snapshot.partitions_with_backlog, std::optional<int>(4));
}

TEST_P(KafkaSourceCase, InterpolationMatchesHandComputedPoints) {
  const std::string clicks = "clicks-" + test_name;
  kafka.create_topic(clicks, 1);
  auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), clicks, "reporting",
                                                {{"lagSecondsMethod", "interpolate"}}));
  ASSERT_TRUE(source);
  // Record timestamps play no part in interpolation: stamp them all far in the past.
  const WallTime stale = kT0 - std::chrono::hours(24);

  kafka.produce(clicks, 0, 100, stale);
  kafka.commit("reporting", clicks, {{0, 50}});
  QueueSnapshot snapshot = poll_ok(*source, kT0);  // watermark 100 at T0
  EXPECT_EQ(snapshot.consumer_lag, 50);
  EXPECT_FALSE(snapshot.lag_seconds.has_value());  // one point: unknown

  kafka.produce(clicks, 0, 100, stale);
  snapshot = poll_ok(*source, kT0 + seconds(10));  // watermark 200 at T0 + 10 s
  // 50 is below the table: 10 records/s puts watermark 50 at T0 - 5 s, 15 s before now.
  ASSERT_TRUE(snapshot.lag_seconds.has_value());
  EXPECT_NEAR(*snapshot.lag_seconds, 15.0, 1e-6);

  kafka.commit("reporting", clicks, {{0, 150}});
  kafka.produce(clicks, 0, 100, stale);
  snapshot = poll_ok(*source, kT0 + seconds(20));  // watermark 300 at T0 + 20 s
  // 150 is halfway between 100 (T0) and 200 (T0 + 10 s): T0 + 5 s, 15 s before now.
  ASSERT_TRUE(snapshot.lag_seconds.has_value());
  EXPECT_NEAR(*snapshot.lag_seconds, 15.0, 1e-6);
  EXPECT_EQ(snapshot.lag_seconds_method, "interpolate");

  kafka.commit("reporting", clicks, {{0, 280}});
  snapshot = poll_ok(*source, kT0 + seconds(30));  // watermark still 300
  // 280 lies between 200 (T0 + 10 s) and 300 (T0 + 20 s): T0 + 18 s.
  ASSERT_TRUE(snapshot.lag_seconds.has_value());
  EXPECT_NEAR(*snapshot.lag_seconds, 12.0, 1e-6);
}

TEST_P(KafkaSourceCase, UnknownTopicIsReported) {
  const std::string unknown = "no-such-topic-" + test_name;
  kafka.make_topic_unknown(unknown);
  auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), unknown, group));
  ASSERT_TRUE(source);
  auto result = source->poll(kT0);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "TopicNotFound");
  EXPECT_NE(result.error().message.find(unknown), std::string::npos) << result.error().message;
}

TEST_P(KafkaSourceCase, ConcurrentPollsThroughOneSharedClient) {
  constexpr int kGroups = 6;
  std::vector<std::unique_ptr<QueueSource>> sources;
  for (int g = 0; g < kGroups; ++g) {
    const std::string group = "group-" + std::to_string(g);
    kafka.commit(group, topic, {{0, g}, {1, g}, {2, g}, {3, g}});
    sources.push_back(make_source(
        context, kafka_spec(kafka.bootstrap_servers(), topic, group,
                            {{"lagSecondsMethod", g % 2 == 0 ? "fetch" : "interpolate"}})));
    ASSERT_TRUE(sources.back());
  }
  EXPECT_EQ(context.kafka_clients().size(), 1u);
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      for (int round = 0; round < 10; ++round) {
        for (int g = w; g < kGroups; g += 3) {
          auto snapshot = sources[g]->poll(kT0 + seconds(60 + round));
          // 100 records in all, g committed on each of the 4 partitions.
          if (!snapshot.ok() || snapshot->consumer_lag != 100 - 4 * g) ++failures;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace lagpilot
