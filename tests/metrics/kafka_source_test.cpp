// KafkaSource against librdkafka's mock cluster: real Kafka protocol on loopback.
#include "metrics/kafka_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "controlplane/test_support.h"
#include "metrics/kafka_client.h"
#include "metrics/queue_source.h"
#include "tests/metrics/kafka_mock_fixture.h"

namespace lagpilot {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::KafkaMockCluster;

const WallTime kT0{seconds(1'700'000'000)};

KafkaOptions test_options() {
  KafkaOptions options;
  options.poll_timeout = seconds(3);
  return options;
}

json kafka_spec(const std::string& bootstrap, const std::string& topic, const std::string& group,
                const json& extra = json::object()) {
  json spec = {{"bootstrapServers", bootstrap}, {"topic", topic}, {"consumerGroup", group}};
  spec.update(extra);
  return spec;
}

std::unique_ptr<QueueSource> make_source(SourceContext& context, const json& spec,
                                         const SourceCredentials& credentials = {}) {
  auto source = create_kafka_source(spec, credentials, context);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(source).value() : nullptr;
}

QueueSnapshot poll_ok(QueueSource& source, WallTime now) {
  auto snapshot = source.poll(now);
  EXPECT_TRUE(snapshot.ok()) << snapshot.error().code << ": " << snapshot.error().message;
  return snapshot.ok() ? *snapshot : QueueSnapshot{};
}

// Polls until a poll succeeds (a cluster coming back), at most `limit`: the last result.
Result<QueueSnapshot> poll_until_ok(QueueSource& source, WallTime now, std::chrono::seconds limit) {
  Result<QueueSnapshot> result = Error{};
  controlplane::eventually(
      [&] {
        result = source.poll(now);
        return result.ok();
      },
      limit, milliseconds(100));
  return result;
}

bool same(const PartitionLag& a, const PartitionLag& b) {
  return a.partition == b.partition && a.high_watermark == b.high_watermark &&
         a.committed_offset == b.committed_offset && a.lag == b.lag;
}

void expect_partition_lags(const QueueSnapshot& snapshot, const std::vector<PartitionLag>& want) {
  ASSERT_EQ(snapshot.partition_lags.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const PartitionLag& got = snapshot.partition_lags[i];
    EXPECT_TRUE(same(got, want[i]))
        << "partition " << got.partition << ": high " << got.high_watermark << " committed "
        << got.committed_offset << " lag " << got.lag;
  }
}

std::vector<std::string> split_servers(const std::string& bootstrap) {
  std::vector<std::string> servers;
  std::stringstream list(bootstrap);
  for (std::string server; std::getline(list, server, ',');) servers.push_back(server);
  return servers;
}

double elapsed_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Each test gets its own topic and group, "orders-<test>" and "order-processor-<test>": 4
// partitions holding 10, 20, 30, 40 records. Record i of partition 0 is stamped T0 + i s, of
// partition 2 T0 + 0.5 s + 2i s, of partition 3 T0 - 30 s + i s. The group has committed 3 on
// partition 0, 20 (all) on partition 1, 5 on partition 2, nothing on 3. The suite shares one mock
// cluster (destroying one costs librdkafka 2.0.2 up to a second); tests that take brokers down or
// leave members behind use KafkaSourceIsolatedTest and a cluster of their own.
class KafkaSourceTest : public ::testing::Test {
 protected:
  explicit KafkaSourceTest(bool own_cluster = false)
      : own_kafka_(own_cluster ? std::make_unique<KafkaMockCluster>() : nullptr),
        kafka(own_kafka_ ? *own_kafka_ : *shared_kafka_) {}

  static void SetUpTestSuite() { shared_kafka_ = new KafkaMockCluster(); }
  static void TearDownTestSuite() {
    delete shared_kafka_;
    shared_kafka_ = nullptr;
  }

  void SetUp() override {
    kafka.create_topic(topic, 4);
    kafka.produce(topic, 0, 10, kT0);
    kafka.produce(topic, 1, 20, kT0);
    kafka.produce(topic, 2, 30, kT0 + milliseconds(500), milliseconds(2000));
    kafka.produce(topic, 3, 40, kT0 - seconds(30));
    kafka.commit(group, topic, {{0, 3}, {1, 20}, {2, 5}});
  }

  json orders_spec(const json& extra = json::object()) {
    return kafka_spec(kafka.bootstrap_servers(), topic, group, extra);
  }

 private:
  static inline KafkaMockCluster* shared_kafka_ = nullptr;
  std::unique_ptr<KafkaMockCluster> own_kafka_;

 protected:
  KafkaMockCluster& kafka;
  const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string topic = "orders-" + test_name;
  const std::string group = "order-processor-" + test_name;
  SourceContext context{test_options()};
};

class KafkaSourceIsolatedTest : public KafkaSourceTest {
 protected:
  KafkaSourceIsolatedTest() : KafkaSourceTest(/*own_cluster=*/true) {}
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
};

TEST_F(KafkaSourceTest, ReportsExactLagPerPartitionWithLatestReset) {
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
  // Default method: interpolation needs an earlier poll.
  EXPECT_EQ(snapshot.lag_seconds_method, "interpolate");
  EXPECT_FALSE(snapshot.lag_seconds.has_value());
  // The mock cannot describe groups.
  EXPECT_FALSE(snapshot.consumers.has_value());
}

TEST_F(KafkaSourceTest, EarliestResetCountsEverythingRetainedOnUncommittedPartitions) {
  auto source = make_source(context, orders_spec({{"offsetResetPolicy", "earliest"}}));
  ASSERT_TRUE(source);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  expect_partition_lags(snapshot, {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 40}});
  EXPECT_EQ(snapshot.consumer_lag, 72);
}

TEST_F(KafkaSourceTest, FetchedLagSecondsIsTheAgeOfTheRecordAtTheCommittedOffset) {
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

TEST_F(KafkaSourceTest, FetchReadsHeadRecordsOnlyWhereTheCommittedOffsetMoved) {
  auto source = make_source(context, orders_spec({{"lagSecondsMethod", "fetch"}}));
  ASSERT_TRUE(source);
  poll_ok(*source, kT0 + seconds(60));
  // A Fetch that was in flight when the reader stopped can still reach the broker: count from
  // when the Fetch count has stood still for 500 ms.
  ASSERT_TRUE(controlplane::eventually_steady(
      [&] {
        const auto counts = kafka.request_counts();
        return counts.count("Fetch") ? counts.at("Fetch") : int64_t{0};
      },
      milliseconds(500), seconds(10), milliseconds(50)));

  kafka.reset_request_counts();
  const QueueSnapshot unchanged = poll_ok(*source, kT0 + seconds(70));
  EXPECT_EQ(kafka.request_counts().count("Fetch"), 0u);
  ASSERT_TRUE(unchanged.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*unchanged.lag_seconds, 67.0);  // same record, 10 s older

  kafka.commit(group, topic, {{0, 4}});
  kafka.reset_request_counts();
  const QueueSnapshot moved = poll_ok(*source, kT0 + seconds(80));
  EXPECT_GE(kafka.request_counts()["Fetch"], 1);
  ASSERT_TRUE(moved.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*moved.lag_seconds, 76.0);  // record 4 of partition 0: T0 + 4 s
}

TEST_F(KafkaSourceTest, NoLagMeansZeroLagSeconds) {
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

TEST_F(KafkaSourceTest, RatesComeFromTheChangeBetweenTwoPolls) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  poll_ok(*source, kT0 + seconds(100));

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
}

TEST_F(KafkaSourceTest, InterpolationMatchesHandComputedPoints) {
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

TEST_F(KafkaSourceIsolatedTest, DownClusterFailsPromptlyAndRecovers) {
  KafkaOptions options;
  options.poll_timeout = milliseconds(500);
  SourceContext fast_context(options);
  auto source = make_source(fast_context, orders_spec());
  ASSERT_TRUE(source);
  poll_ok(*source, kT0);

  kafka.set_all_brokers_down();
  std::string first_message;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto started = std::chrono::steady_clock::now();
    auto result = source->poll(kT0 + seconds(10 + attempt));
    EXPECT_LT(elapsed_seconds(started), 1.5);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "SourceUnreachable");
    // While the outage lasts its message stays the same, so status is written once.
    if (attempt == 0) first_message = result.error().message;
    EXPECT_EQ(result.error().message, first_message);
    for (const auto& server : split_servers(kafka.bootstrap_servers())) {
      EXPECT_NE(result.error().message.find(server), std::string::npos) << result.error().message;
    }
  }

  kafka.set_all_brokers_up();
  const Result<QueueSnapshot> recovered = poll_until_ok(*source, kT0 + seconds(60), seconds(15));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->consumer_lag, 32);
}

// Every poll of a down cluster would otherwise hold a worker for the whole poll timeout, and a
// few dozen monitors of one down cluster would hold all of them.
TEST_F(KafkaSourceIsolatedTest, WhileTheClusterIsDownOnePollWaitsAndTheOthersFailAtOnce) {
  KafkaOptions options;
  options.poll_timeout = seconds(2);
  SourceContext fast_context(options);
  std::vector<std::unique_ptr<QueueSource>> sources;
  for (const char* suffix : {"-a", "-b", "-c"}) {
    sources.push_back(
        make_source(fast_context, kafka_spec(kafka.bootstrap_servers(), topic, group + suffix)));
    ASSERT_TRUE(sources.back());
    poll_ok(*sources.back(), kT0);
  }

  kafka.set_all_brokers_down();
  auto first = sources[0]->poll(kT0 + seconds(10));  // finds the cluster down
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "SourceUnreachable");

  std::vector<Result<QueueSnapshot>> results(sources.size(), Error{});
  std::vector<double> took(sources.size());
  std::vector<std::thread> polls;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    polls.emplace_back([&, i] {
      const auto started = std::chrono::steady_clock::now();
      results[i] = sources[i]->poll(kT0 + seconds(20));
      took[i] = elapsed_seconds(started);
    });
  }
  for (auto& poll : polls) poll.join();
  int failed_at_once = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ASSERT_FALSE(results[i].ok());
    EXPECT_EQ(results[i].error().code, "SourceUnreachable");
    // The same words as the failure that found the cluster down: status is written once.
    EXPECT_EQ(results[i].error().message, first.error().message);
    if (took[i] < 1.0) ++failed_at_once;  // half the poll timeout
  }
  EXPECT_GE(failed_at_once, 2) << "only one poll at a time may wait for a down cluster";

  kafka.set_all_brokers_up();
  const Result<QueueSnapshot> recovered =
      poll_until_ok(*sources[1], kT0 + seconds(60), seconds(15));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  poll_ok(*sources[0], kT0 + seconds(61));  // the outage is over for every source of the client
  poll_ok(*sources[2], kT0 + seconds(61));
}

TEST_F(KafkaSourceIsolatedTest, ATopicWhoseLeaderIsDownHoldsBackOnlyItsOwnPolls) {
  KafkaOptions options;
  options.poll_timeout = seconds(2);
  SourceContext fast_context(options);
  const std::string stranded = topic + "-stranded";
  kafka.create_topic(stranded, 1);
  kafka.set_partition_leader(stranded, 0, 3);
  kafka.set_partition_leader(topic, 0, 1);
  kafka.set_partition_leader(topic, 1, 1);
  kafka.set_partition_leader(topic, 2, 2);
  kafka.set_partition_leader(topic, 3, 2);
  for (const char* suffix : {"-1", "-2"}) kafka.set_group_coordinator(group + suffix, 1);
  kafka.set_group_coordinator(group, 1);
  auto stranded_1 =
      make_source(fast_context, kafka_spec(kafka.bootstrap_servers(), stranded, group + "-1"));
  auto stranded_2 =
      make_source(fast_context, kafka_spec(kafka.bootstrap_servers(), stranded, group + "-2"));
  auto healthy = make_source(fast_context, orders_spec());
  ASSERT_TRUE(stranded_1 && stranded_2 && healthy);
  poll_ok(*stranded_1, kT0);
  poll_ok(*healthy, kT0);

  kafka.set_broker_down(3);
  ASSERT_FALSE(stranded_1->poll(kT0 + seconds(10)).ok());  // the stranded topic is down now

  // One stranded poll waits for the cluster, the other fails at once; the healthy topic on the
  // same client keeps polling meanwhile.
  std::thread waiting_1([&] { (void)stranded_1->poll(kT0 + seconds(20)); });
  std::thread waiting_2([&] { (void)stranded_2->poll(kT0 + seconds(20)); });
  for (int i = 0; i < 10; ++i) {
    auto polled = poll_ok(*healthy, kT0 + seconds(20) + milliseconds(i));
    EXPECT_EQ(polled.consumer_lag, 32);
    std::this_thread::sleep_for(milliseconds(100));
  }
  waiting_1.join();
  waiting_2.join();
  kafka.set_broker_up(3);
}

TEST(KafkaSourceUnreachable, NothingListeningFailsWithinThePollTimeout) {
  KafkaOptions options;
  options.poll_timeout = milliseconds(400);
  SourceContext context(options);
  auto source = make_source(context, kafka_spec("127.0.0.1:1", "orders", "order-processor"));
  ASSERT_TRUE(source);
  const auto started = std::chrono::steady_clock::now();
  auto result = source->poll(kT0);
  EXPECT_LT(elapsed_seconds(started), 1.5);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "SourceUnreachable");
  EXPECT_NE(result.error().message.find("bootstrap=127.0.0.1:1"), std::string::npos)
      << result.error().message;
}

TEST_F(KafkaSourceTest, UnknownTopicIsReported) {
  kafka.make_topic_unknown("no-such-topic");
  auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), "no-such-topic", group));
  ASSERT_TRUE(source);
  auto result = source->poll(kT0);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "TopicNotFound");
  EXPECT_NE(result.error().message.find("no-such-topic"), std::string::npos);
}

// librdkafka 2.0.2 aborts when a group-coordinator admin request times out while waiting for a
// down coordinator that later returns (librdkafka #4605). The client must replace its connection
// before that timeout, and the source must keep working afterwards.
TEST(KafkaSourceCoordinator, StuckAdminRequestIsAbandonedWithoutCrashing) {
  KafkaMockCluster kafka;
  kafka.create_topic("orders", 2);
  kafka.set_partition_leader("orders", 0, 1);
  kafka.set_partition_leader("orders", 1, 1);
  kafka.set_group_coordinator("order-processor", 3);
  kafka.produce("orders", 0, 10, kT0);
  kafka.produce("orders", 1, 10, kT0);
  kafka.commit("order-processor", "orders", {{0, 4}, {1, 6}});

  KafkaOptions options;
  options.poll_timeout = milliseconds(300);
  options.admin_request_timeout = seconds(4);
  options.admin_recycle_age = seconds(1);
  SourceContext context(options);
  auto source = create_kafka_source(
      kafka_spec(kafka.bootstrap_servers(), "orders", "order-processor"), {}, context);
  ASSERT_TRUE(source.ok());
  auto& kafka_source = dynamic_cast<KafkaSource&>(**source);

  poll_ok(**source, kT0);  // metadata, leaders and the coordinator are known now

  kafka.set_broker_down(3);
  const auto stuck_issued = std::chrono::steady_clock::now();
  auto stuck = (*source)->poll(kT0 + seconds(5));
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.error().code, "SourceUnreachable");

  std::this_thread::sleep_for(milliseconds(1100));
  auto still_down = (*source)->poll(kT0 + seconds(10));
  ASSERT_FALSE(still_down.ok());
  EXPECT_EQ(kafka_source.client().recycle_count(), 1);

  kafka.set_broker_up(3);
  const Result<QueueSnapshot> recovered = poll_until_ok(**source, kT0 + seconds(20), seconds(10));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->consumer_lag, 10);
  // Outlive the abandoned request's librdkafka timeout (admin_request_timeout after it was
  // issued): it must not fire into freed memory (ASan would report it).
  std::this_thread::sleep_until(stuck_issued + options.admin_request_timeout + milliseconds(500));
  EXPECT_TRUE((*source)->poll(kT0 + seconds(30)).ok());
}

TEST_F(KafkaSourceTest, SourcesOnOneClusterShareOneClient) {
  KafkaMockCluster other_cluster(1);
  other_cluster.create_topic("payments", 2);
  KafkaClientPool& pool = context.kafka_clients();
  {
    auto orders = make_source(context, orders_spec());
    auto audit = make_source(context, kafka_spec(kafka.bootstrap_servers(), topic, "audit"));
    // The same brokers listed in another order, with spaces: still the same cluster.
    std::string reordered;
    const auto servers = split_servers(kafka.bootstrap_servers());
    for (auto it = servers.rbegin(); it != servers.rend(); ++it) reordered += " " + *it + " ,";
    auto reordered_source = make_source(context, kafka_spec(reordered, topic, "billing"));
    ASSERT_TRUE(orders && audit && reordered_source);
    const auto& orders_client = dynamic_cast<KafkaSource&>(*orders).client();
    EXPECT_EQ(&orders_client, &dynamic_cast<KafkaSource&>(*audit).client());
    EXPECT_EQ(&orders_client, &dynamic_cast<KafkaSource&>(*reordered_source).client());
    EXPECT_EQ(pool.size(), 1u);

    auto payments = make_source(
        context, kafka_spec(other_cluster.bootstrap_servers(), "payments", "payment-processor"));
    ASSERT_TRUE(payments);
    EXPECT_EQ(pool.size(), 2u);
    // Same cluster, other credentials: another client (never connected here).
    auto as_app = make_source(context, orders_spec(),
                              {{"security.protocol", "SASL_PLAINTEXT"},
                               {"sasl.username", "app"},
                               {"sasl.password", "hunter2"}});
    ASSERT_TRUE(as_app);
    EXPECT_NE(as_app->describe().find("topic=orders"), std::string::npos);
    EXPECT_EQ(as_app->describe().find("hunter2"), std::string::npos);
    EXPECT_EQ(pool.size(), 3u);
    EXPECT_EQ(context.live_sources(), 5);

    poll_ok(*orders, kT0);
    poll_ok(*audit, kT0);
    poll_ok(*payments, kT0);

    orders.reset();
    EXPECT_EQ(pool.size(), 3u);  // audit and billing still use it
    EXPECT_EQ(context.live_sources(), 4);
  }
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(context.live_sources(), 0);
}

TEST_F(KafkaSourceTest, ConcurrentPollsThroughOneSharedClient) {
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

TEST_F(KafkaSourceIsolatedTest, ConsumersUnknownOnTheMockEvenWithAMember) {
  auto& member = kafka.join_group(group, topic);
  ASSERT_TRUE(controlplane::eventually([&] { return member.has_assignment(); }, seconds(10),
                                       milliseconds(50)));
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  kafka.reset_request_counts();
  const QueueSnapshot snapshot = poll_ok(*source, kT0);
  // The mock has no DescribeGroups; the source must not ask (librdkafka 2.0.2 would corrupt its
  // admin state on the refusal) and reports the count as unknown.
  EXPECT_FALSE(snapshot.consumers.has_value());
  EXPECT_EQ(kafka.request_counts().count("DescribeGroups"), 0u);
}

TEST(KafkaSourceRequests, RequestsPerPollDoNotGrowWithPartitions) {
  KafkaMockCluster kafka;
  SourceContext context(test_options());
  std::map<int, int64_t> requests_by_partitions;
  std::string counted;
  for (int partitions : {10, 300}) {
    const std::string topic = "topic-" + std::to_string(partitions);
    kafka.create_topic(topic, partitions);
    // The mock picks leaders at random, so 10 partitions can miss a broker: one ListOffsets
    // fewer. Partitions 0..2 led by brokers 1..3 put every broker in both polls.
    for (int32_t p = 0; p < kafka.broker_count(); ++p) kafka.set_partition_leader(topic, p, p + 1);
    std::map<int32_t, int64_t> commits;
    for (int p = 0; p < partitions; ++p) {
      kafka.produce(topic, p, 2, kT0);
      commits[p] = 1;
    }
    kafka.commit("group", topic, commits);
    auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), topic, "group"));
    ASSERT_TRUE(source);
    poll_ok(*source, kT0);  // connects, caches metadata
    kafka.reset_request_counts();
    const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(10));
    EXPECT_EQ(snapshot.consumer_lag, partitions);
    const auto counts = kafka.request_counts();
    EXPECT_EQ(counts.at("OffsetFetch"), 1);
    EXPECT_LE(counts.at("ListOffsets"), kafka.broker_count());
    requests_by_partitions[partitions] = kafka.requests_total();
    counted += std::to_string(partitions) + " partitions:";
    for (const auto& [api, count] : counts) counted += " " + api + "=" + std::to_string(count);
    counted += "\n";
  }
  EXPECT_EQ(requests_by_partitions[10], requests_by_partitions[300]) << counted;
}

constexpr const char* kTestCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUYhP+CTTOHc7nDMP8xYyvSFHe7A4wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbGFncGlsb3QtdGVzdC1jYTAgFw0yNjExMjIwNTEwNDVaGA8y
MTI2MTAyOTA1MTA0NVowGzEZMBcGA1UEAwwQbGFncGlsb3QtdGVzdC1jYTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABEICJ2+sPM1i0ZHwf+XbkaD34l1sBAL4aWMV
a/euSmEu7XR+MCpb42XQ6j/c0T0/aPFt8gX8iQsCl1SW12NKTVajUzBRMB0GA1Ud
DgQWBBQ8C3pRetHjDfXpffRNrbIWFL8pWDAfBgNVHSMEGDAWgBQ8C3pRetHjDfXp
ffRNrbIWFL8pWDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDi
IsUsBlZibOSCRO62nCh1VdD/2Yu9ZfezaLHiijxGVwIgM5Amm5d+zdnbB2fTOZqC
+eIXcsQVUalwu/X2Dsa38rk=
-----END CERTIFICATE-----
)";

TEST(KafkaSourceCredentials, TlsAndSaslClientsAreBuiltFromTheSecret) {
  SourceContext context(test_options());
  const json spec = kafka_spec("127.0.0.1:1", "orders", "order-processor");
  auto sasl_ssl = create_kafka_source(spec,
                                      {{"sasl.mechanism", "SCRAM-SHA-256"},
                                       {"sasl.username", "app"},
                                       {"sasl.password", "hunter2"},
                                       {"ca.crt", kTestCaPem}},
                                      context);
  ASSERT_TRUE(sasl_ssl.ok()) << sasl_ssl.error().message;
  EXPECT_EQ(context.kafka_clients().size(), 1u);

  auto bad_ca = create_kafka_source(
      spec,
      {{"sasl.username", "app"}, {"sasl.password", "hunter2"}, {"ca.crt", "not a certificate"}},
      context);
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.error().code, "SourceConfigError");
  EXPECT_EQ(bad_ca.error().message.find("hunter2"), std::string::npos);
  EXPECT_EQ(context.kafka_clients().size(), 1u);
  EXPECT_EQ(context.live_sources(), 1);
}

}  // namespace
}  // namespace lagpilot
