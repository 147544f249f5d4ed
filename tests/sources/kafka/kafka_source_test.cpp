// KafkaSource against librdkafka's mock cluster: real Kafka protocol on loopback. The cases that
// also run against a real broker are in kafka_source_cases.cpp.
#include "sources/kafka/kafka_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "controlplane/test_support.h"
#include "sources/kafka/kafka_client.h"
#include "sources/queue_source.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/sources/kafka/kafka_source_test_support.h"

namespace lagpilot {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::elapsed_seconds;
using testkit::expect_partition_lags;
using testkit::kafka_spec;
using testkit::KafkaMockCluster;
using testkit::KafkaSourceCase;
using testkit::kT0;
using testkit::make_source;
using testkit::poll_ok;
using testkit::poll_until_ok;
using testkit::split_servers;
using testkit::test_options;

// The cases shared with the real-broker suite (kafka_source_cases.cpp) run on one mock cluster.
class SharedMockCluster : public ::testing::Environment {
 public:
  static testkit::KafkaTestCluster& get() {
    if (!cluster_) cluster_ = std::make_unique<KafkaMockCluster>();
    return *cluster_;
  }
  void TearDown() override { cluster_.reset(); }

 private:
  static inline std::unique_ptr<KafkaMockCluster> cluster_;
};
[[maybe_unused]] ::testing::Environment* const shared_mock_environment =
    ::testing::AddGlobalTestEnvironment(new SharedMockCluster);

INSTANTIATE_TEST_SUITE_P(Kafka, KafkaSourceCase, ::testing::Values(&SharedMockCluster::get),
                         [](const auto&) { return std::string("mock"); });

// The mock-only cases (request counts, brokers taken down, a second cluster). Each test gets the
// same topic and group layout as KafkaSourceCase (kafka_source_test_support.h). The suite shares
// one mock cluster (destroying one costs librdkafka 2.0.2 up to a second); tests that take brokers
// down or leave members behind use KafkaSourceIsolatedTest and a cluster of their own.
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

  FakeClock clock;
  KafkaOptions options;
  options.poll_timeout = milliseconds(300);
  options.admin_request_timeout = seconds(3);
  options.admin_recycle_age = seconds(1);
  SourceContext context(options, clock);
  auto source = create_kafka_source(
      kafka_spec(kafka.bootstrap_servers(), "orders", "order-processor"), {}, context);
  ASSERT_TRUE(source.ok());
  auto& kafka_source = dynamic_cast<KafkaSource&>(**source);

  poll_ok(**source, kT0);  // metadata, leaders and the coordinator are known now

  kafka.set_broker_down(3);
  // librdkafka's own admin timeout runs on real time, whatever the source's clock.
  const auto stuck_issued = std::chrono::steady_clock::now();
  auto stuck = (*source)->poll(kT0 + seconds(5));
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.error().code, "SourceUnreachable");
  (void)(*source)->poll(kT0 +
                        seconds(6));  // the request is younger than admin_recycle_age by the clock
  EXPECT_EQ(kafka_source.client().recycle_count(), 0);

  clock.advance(milliseconds(1100));
  auto still_down = (*source)->poll(kT0 + seconds(10));
  ASSERT_FALSE(still_down.ok());
  EXPECT_EQ(kafka_source.client().recycle_count(), 1);

  kafka.set_broker_up(3);
  const Result<QueueSnapshot> recovered = poll_until_ok(**source, kT0 + seconds(20), seconds(10));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->consumer_lag, 10);
  // Outlive the abandoned request's librdkafka timeout (admin_request_timeout after it was
  // issued, in real time): it must not fire into freed memory (ASan would report it).
  std::this_thread::sleep_until(stuck_issued + options.admin_request_timeout + milliseconds(500));
  EXPECT_TRUE((*source)->poll(kT0 + seconds(30)).ok());
}

// A coordinator that has just restarted answers OffsetFetch with NOT_COORDINATOR (or
// COORDINATOR_NOT_AVAILABLE) for a moment. librdkafka 2.0.2 then asks the client's consumer group
// to look up its coordinator again, and crashes (NULL rd_kafka_cgrp_t) in a client that has no
// group.id (librdkafka #5040). Found against a real broker restart (kafka_broker_tests).
TEST_F(KafkaSourceIsolatedTest, NotCoordinatorAnswerToCommittedOffsetsDoesNotCrash) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  poll_ok(*source, kT0);
  for (rd_kafka_resp_err_t err :
       {RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE}) {
    constexpr int16_t kOffsetFetchApiKey = 9;
    rd_kafka_mock_push_request_errors(kafka.handle(), kOffsetFetchApiKey, 1, err);
    auto answered = source->poll(kT0 + seconds(10));  // fails or retries; must not crash
    if (!answered.ok()) {
      EXPECT_EQ(answered.error().code, "SourceUnreachable") << answered.error().message;
    }
    const Result<QueueSnapshot> recovered = poll_until_ok(*source, kT0 + seconds(20), seconds(15));
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
    EXPECT_EQ(recovered->consumer_lag, 32);
  }
}

// Without lagSecondsMethod a source fetches, and interpolates each partition whose record the Fetch
// does not return: here partition 2, whose leader answers every Fetch with an error.
TEST_F(KafkaSourceIsolatedTest, OmittedMethodInterpolatesWhereTheFetchCannotRead) {
  kafka.set_partition_leader(topic, 0, 1);
  kafka.set_partition_leader(topic, 2, 2);
  constexpr int16_t kFetchApiKey = 1;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(
        rd_kafka_mock_broker_push_request_error_rtts(
            kafka.handle(), 2, kFetchApiKey, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  auto fetch_errors_left = [&] {
    size_t left = 0;
    rd_kafka_mock_broker_error_stack_cnt(kafka.handle(), 2, kFetchApiKey, &left);
    return static_cast<int64_t>(left);
  };
  FakeClock clock;
  KafkaOptions options = test_options();
  options.poll_timeout = seconds(1);
  SourceContext fallback_context(options, clock);
  auto source = make_source(fallback_context, orders_spec());
  ASSERT_TRUE(source);
  EXPECT_EQ(dynamic_cast<KafkaSource&>(*source).lag_seconds_method(),
            LagSecondsMethod::kFetchWithInterpolateFallback);

  const QueueSnapshot first = poll_ok(*source, kT0 + seconds(60));
  EXPECT_EQ(first.consumer_lag, 32);
  EXPECT_LT(fetch_errors_left(), 100);  // partition 2 was asked for
  // Partition 0's record was fetched; partition 2 has one high watermark and no rate yet.
  EXPECT_EQ(first.lag_seconds_method, "fetch+interpolate");
  EXPECT_FALSE(first.lag_seconds.has_value());
  // A Fetch that was in flight when the reader stopped can still reach the broker.
  ASSERT_TRUE(controlplane::eventually_steady(fetch_errors_left, milliseconds(500), seconds(10),
                                              milliseconds(50)));
  const int64_t errors_before = fetch_errors_left();

  kafka.produce(topic, 2, 1, kT0 + seconds(65));  // high watermark 31
  clock.advance(seconds(10));
  const QueueSnapshot second = poll_ok(*source, kT0 + seconds(70));
  // The committed offset of partition 2 stayed: no new Fetch for it.
  EXPECT_EQ(fetch_errors_left(), errors_before);
  EXPECT_EQ(second.lag_seconds_method, "fetch+interpolate");
  ASSERT_TRUE(second.lag_seconds.has_value());
  // Partition 2's watermark went 30 -> 31 in 10 s: offset 5, 25 records below 30, was reached
  // 250 s before T0 + 60 s, 260 s ago. (Partition 0's fetched record is 67 s old.)
  EXPECT_NEAR(*second.lag_seconds, 260.0, 1e-6);
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
    // Interpolation: no Fetch at all. (A fetching source adds Fetch requests only where the
    // committed offset moved: FetchReadsHeadRecordsOnlyWhereTheCommittedOffsetMoved.)
    auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), topic, "group",
                                                  {{"lagSecondsMethod", "interpolate"}}));
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

TEST(KafkaSourceCredentials, TlsAndSaslClientsAreBuiltFromTheSecret) {
  SourceContext context(test_options());
  const json spec = kafka_spec("127.0.0.1:1", "orders", "order-processor");
  auto sasl_ssl = create_kafka_source(spec,
                                      {{"sasl.mechanism", "SCRAM-SHA-256"},
                                       {"sasl.username", "app"},
                                       {"sasl.password", "hunter2"},
                                       {"ca.crt", testkit::kUnrelatedCaPem}},
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
