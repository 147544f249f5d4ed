// KafkaSource against a real Apache Kafka 4 broker (controlplane/kafka/): one broker for the
// whole binary (the JVM takes seconds to start), the cases shared with the mock cluster
// (kafka_source_cases.cpp) and what only a real broker can show: a real committing consumer
// group, group members, SASL_SSL with SCRAM, a broker restart, topics deleted and grown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/kafka_broker.h"
#include "sources/kafka/kafka_source.h"
#include "tests/sources/kafka/kafka_real_cluster.h"
#include "tests/sources/kafka/kafka_source_test_support.h"

namespace lagpilot {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::expect_partition_lags;
using testkit::kafka_spec;
using testkit::KafkaRealCluster;
using testkit::KafkaSourceCase;
using testkit::kT0;
using testkit::make_source;
using testkit::poll_ok;
using testkit::poll_until;
using testkit::poll_until_ok;

// Waits for the broker (a restart, a rebalance) are generous: the machine may be loaded.
constexpr seconds kBrokerWait{90};

class BrokerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    run_dir_ = (std::filesystem::temp_directory_path() /
                ("lagpilot-kafka-test-" + std::to_string(::getpid())))
                   .string();
    auto started = controlplane::KafkaBroker::start(
        std::string(LAGPILOT_SOURCE_DIR) + "/controlplane/kafka", run_dir_);
    ASSERT_TRUE(started.ok()) << started.error().message;
    broker_ = std::move(started).value();
    cluster_ = std::make_unique<KafkaRealCluster>(*broker_);
    std::printf("kafka %s broker ready in %.1f s (run dir %s, JVM RSS %ld MiB)\n",
                broker_->version().c_str(), broker_->start_duration().count(), run_dir_.c_str(),
                broker_->rss_kib().value_or(0) / 1024);
  }
  void TearDown() override {
    if (!broker_) return;
    std::printf("kafka broker at the end: JVM RSS %ld MiB, peak %ld MiB\n",
                broker_->rss_kib().value_or(0) / 1024, broker_->peak_rss_kib().value_or(0) / 1024);
    cluster_.reset();
    EXPECT_TRUE(broker_->stop().ok());
    broker_.reset();
    // Kept with its logs when something failed.
    if (!::testing::UnitTest::GetInstance()->Failed()) std::filesystem::remove_all(run_dir_);
  }

  static KafkaRealCluster& cluster() { return *cluster_; }
  static testkit::KafkaTestCluster& shared() { return *cluster_; }

 private:
  std::string run_dir_;
  static inline std::unique_ptr<controlplane::KafkaBroker> broker_;
  static inline std::unique_ptr<KafkaRealCluster> cluster_;
};
[[maybe_unused]] ::testing::Environment* const broker_environment =
    ::testing::AddGlobalTestEnvironment(new BrokerEnvironment);

INSTANTIATE_TEST_SUITE_P(Kafka, KafkaSourceCase, ::testing::Values(&BrokerEnvironment::shared),
                         [](const auto&) { return std::string("broker"); });

// The real-broker-only cases get KafkaSourceCase's topic and group too.
class KafkaBrokerTest : public KafkaSourceCase {
 protected:
  KafkaRealCluster& broker = BrokerEnvironment::cluster();

  // The broker's SASL_SSL listener takes SCRAM-SHA-512 and PLAIN for one user.
  SourceCredentials sasl_credentials(const std::string& mechanism) {
    return {{"sasl.mechanism", mechanism},
            {"sasl.username", broker.broker().sasl_username()},
            {"sasl.password", broker.broker().sasl_password()},
            {"ca.crt", broker.broker().ca_pem()}};
  }
  json sasl_ssl_spec() { return kafka_spec(broker.broker().bootstrap_sasl_ssl(), topic, group); }
};
// Every KafkaBrokerTest runs against the broker; KafkaSourceCase's parameter picks it.
INSTANTIATE_TEST_SUITE_P(Kafka, KafkaBrokerTest, ::testing::Values(&BrokerEnvironment::shared),
                         [](const auto&) { return std::string("broker"); });

// A consumer group as applications run it: a librdkafka consumer subscribes, the group assigns
// it all 12 partitions, it reads everything and commits its positions; then more is produced.
TEST_P(KafkaBrokerTest, LagOfARealCommittingConsumerGroupOnTwelvePartitions) {
  const std::string events = "events-" + test_name;
  const std::string readers = "readers-" + test_name;
  kafka.create_topic(events, 12);
  for (int32_t p = 0; p < 12; ++p) kafka.produce(events, p, 10, kT0 - seconds(600));
  {
    testkit::KafkaGroupMember member(kafka.bootstrap_servers(), readers, events,
                                     {{"auto.offset.reset", "earliest"}});
    ASSERT_TRUE(controlplane::eventually([&] { return member.received() == 120; }, kBrokerWait,
                                         milliseconds(50)))
        << "consumed " << member.received() << " of 120";
    ASSERT_TRUE(controlplane::eventually(
        [&] { return member.commit_consumed() == RD_KAFKA_RESP_ERR_NO_ERROR; }, kBrokerWait,
        milliseconds(200)));
    // 5 more per partition; partition p's first new record is stamped T0 + p s.
    for (int32_t p = 0; p < 12; ++p) kafka.produce(events, p, 5, kT0 + seconds(p));

    for (const char* method : {"fetch", "interpolate"}) {
      auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), events, readers,
                                                    {{"lagSecondsMethod", method}}));
      ASSERT_TRUE(source);
      const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(100));
      EXPECT_EQ(snapshot.partitions, 12) << method;
      EXPECT_EQ(snapshot.consumer_lag, 60) << method;
      std::vector<PartitionLag> want;
      for (int32_t p = 0; p < 12; ++p) want.push_back({p, 15, 10, 5});
      expect_partition_lags(snapshot, want);
      EXPECT_EQ(snapshot.consumers, std::optional<int>(1)) << method;
      if (std::string(method) == "fetch") {
        // The oldest unconsumed record: partition 0's, stamped T0.
        ASSERT_TRUE(snapshot.lag_seconds.has_value());
        EXPECT_DOUBLE_EQ(*snapshot.lag_seconds, 100.0);
      } else {
        EXPECT_FALSE(snapshot.lag_seconds.has_value());  // needs a second poll
        for (int32_t p = 0; p < 12; ++p) kafka.produce(events, p, 10, kT0);
        const QueueSnapshot second = poll_ok(*source, kT0 + seconds(110));
        EXPECT_EQ(second.consumer_lag, 180);
        ASSERT_TRUE(second.lag_seconds.has_value());
        // Offset 10 was below the watermarks seen on each partition (15 at T0 + 100 s, 25 at
        // T0 + 110 s): extrapolated to T0 + 95 s, 15 s before now.
        EXPECT_NEAR(*second.lag_seconds, 15.0, 1e-6);
      }
    }
  }
  // The member left (LeaveGroup on close): the group is empty, its commits stay.
  auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), events, readers));
  ASSERT_TRUE(source);
  const auto left = poll_until(*source, kT0 + seconds(120), kBrokerWait, [](const auto& result) {
    return result.ok() && result->consumers == std::optional<int>(0);
  });
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(left->consumer_lag, 180);
}

// DescribeConsumerGroups of a classic group, as members join and leave.
TEST_P(KafkaBrokerTest, MembersJoiningAndLeavingAClassicGroup) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  auto members_become = [&](int count) {
    return poll_until(*source, kT0, kBrokerWait, [&](const auto& result) {
      return result.ok() && result->consumers == std::optional<int>(count);
    });
  };
  EXPECT_EQ(poll_ok(*source, kT0).consumers, std::optional<int>(0));

  auto first = std::make_unique<testkit::KafkaGroupMember>(kafka.bootstrap_servers(), group, topic);
  auto joined = members_become(1);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  EXPECT_EQ(joined->consumer_lag, 32);  // members that commit nothing change no lag

  auto second =
      std::make_unique<testkit::KafkaGroupMember>(kafka.bootstrap_servers(), group, topic);
  auto two = members_become(2);
  ASSERT_TRUE(two.ok() && two->consumers == std::optional<int>(2))
      << (two.ok() ? "consumers " + std::to_string(two->consumers.value_or(-1))
                   : two.error().message);

  second.reset();
  auto one = members_become(1);
  ASSERT_TRUE(one.ok() && one->consumers == std::optional<int>(1));
  first.reset();
  auto none = members_become(0);
  ASSERT_TRUE(none.ok() && none->consumers == std::optional<int>(0));
}

TEST_P(KafkaBrokerTest, SaslSslWithPlainCredentialsAndTheCa) {
  auto source = make_source(context, sasl_ssl_spec(), sasl_credentials("PLAIN"));
  ASSERT_TRUE(source);
  const QueueSnapshot snapshot = poll_ok(*source, kT0 + seconds(60));
  expect_partition_lags(snapshot, {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 0}});
  EXPECT_EQ(snapshot.consumers, std::optional<int>(0));

  auto fetch = make_source(context,
                           kafka_spec(broker.broker().bootstrap_sasl_ssl(), topic, group,
                                      {{"lagSecondsMethod", "fetch"}}),
                           sasl_credentials("PLAIN"));
  ASSERT_TRUE(fetch);
  const QueueSnapshot fetched = poll_ok(*fetch, kT0 + seconds(60));
  ASSERT_TRUE(fetched.lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*fetched.lag_seconds, 57.0);  // the head records came over SASL_SSL too
}

// Kafka 3.8.1 and later check the nonce of SCRAM's client-final-message (CVE-2024-56128), and
// librdkafka before 2.6.1 sends a wrong one (the client nonce twice, librdkafka #4895): the
// broker refuses librdkafka 2.0.2's SCRAM with the right password. This pins that down; a newer
// librdkafka makes it fail, and then SCRAM belongs in the test above.
TEST_P(KafkaBrokerTest, ScramIsRefusedToLibrdkafka202EvenWithTheRightPassword) {
  if (rd_kafka_version() >= 0x02060100) GTEST_SKIP() << "librdkafka " << rd_kafka_version_str();
  KafkaOptions options = testkit::test_options();
  options.poll_timeout = seconds(5);
  SourceContext sasl_context(options);
  auto source = make_source(sasl_context, sasl_ssl_spec(), sasl_credentials("SCRAM-SHA-512"));
  ASSERT_TRUE(source);
  auto result = source->poll(kT0);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("Authentication failed"), std::string::npos)
      << result.error().message;
}

TEST_P(KafkaBrokerTest, AWrongPasswordIsAClearError) {
  KafkaOptions options = testkit::test_options();
  options.poll_timeout = seconds(5);
  SourceContext sasl_context(options);
  auto credentials = sasl_credentials("PLAIN");
  credentials["sasl.password"] = "not-the-password";
  auto source = make_source(sasl_context, sasl_ssl_spec(), credentials);
  ASSERT_TRUE(source);
  auto result = source->poll(kT0);
  ASSERT_FALSE(result.ok());
  std::printf("wrong password: %s: %s\n", result.error().code.c_str(),
              result.error().message.c_str());
  EXPECT_NE(result.error().message.find("Authentication failed"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("not-the-password"), std::string::npos);
}

TEST_P(KafkaBrokerTest, AnUnknownCaIsAClearError) {
  KafkaOptions options = testkit::test_options();
  options.poll_timeout = seconds(5);
  SourceContext tls_context(options);
  auto credentials = sasl_credentials("PLAIN");
  credentials["ca.crt"] = testkit::kUnrelatedCaPem;
  auto source = make_source(tls_context, sasl_ssl_spec(), credentials);
  ASSERT_TRUE(source);
  auto result = source->poll(kT0);
  ASSERT_FALSE(result.ok());
  std::printf("unknown CA: %s: %s\n", result.error().code.c_str(), result.error().message.c_str());
  EXPECT_NE(result.error().message.find("certificate verify failed"), std::string::npos)
      << result.error().message;
}

// The broker is killed while a source polls it continuously, then started again (same ports,
// same data): polls fail meanwhile, nothing crashes, and the source recovers by itself.
TEST_P(KafkaBrokerTest, BrokerKilledMidPollAndRestarted) {
  KafkaOptions options = testkit::test_options();
  options.poll_timeout = seconds(2);
  SourceContext polling_context(options);
  auto source = make_source(polling_context, orders_spec({{"lagSecondsMethod", "fetch"}}));
  ASSERT_TRUE(source);
  poll_ok(*source, kT0);

  std::mutex mutex;
  std::vector<Result<QueueSnapshot>> results;
  std::atomic<bool> stop{false};
  std::thread poller([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto result = source->poll(kT0 + seconds(60) + milliseconds(i));
      std::lock_guard lock(mutex);
      results.push_back(std::move(result));
    }
  });
  auto count_results = [&](bool ok) {
    std::lock_guard lock(mutex);
    return std::count_if(results.begin(), results.end(),
                         [&](const auto& result) { return result.ok() == ok; });
  };
  EXPECT_TRUE(controlplane::eventually([&] { return count_results(true) > 0; }, kBrokerWait));
  ASSERT_TRUE(broker.broker().halt(/*kill=*/true).ok());
  const bool failed_while_down =
      controlplane::eventually([&] { return count_results(false) > 0; }, kBrokerWait);
  const auto ok_before_restart = count_results(true);
  const auto resumed = broker.broker().resume();
  const bool recovered = controlplane::eventually(
      [&] { return count_results(true) > ok_before_restart; }, kBrokerWait);
  stop.store(true);
  poller.join();
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_TRUE(failed_while_down);
  EXPECT_TRUE(recovered);
  std::string failures;
  for (const auto& result : results) {
    if (result.ok()) continue;
    EXPECT_EQ(result.error().code, "SourceUnreachable") << result.error().message;
    if (failures.find(result.error().message) == std::string::npos) {
      failures += result.error().message + "\n";
    }
  }
  std::printf("failures while the broker was down:\n%s", failures.c_str());
  // After the restart the numbers are the same as before.
  const auto after = poll_until_ok(*source, kT0 + seconds(120), kBrokerWait);
  ASSERT_TRUE(after.ok()) << after.error().message;
  expect_partition_lags(*after, {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 0}});
  ASSERT_TRUE(after->lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*after->lag_seconds, 117.0);
}

TEST_P(KafkaBrokerTest, TopicDeletedAndRecreated) {
  auto source = make_source(context, orders_spec());
  ASSERT_TRUE(source);
  EXPECT_EQ(poll_ok(*source, kT0).consumer_lag, 32);

  broker.delete_topic(topic);
  const auto gone = poll_until(*source, kT0 + seconds(10), kBrokerWait, [](const auto& result) {
    return !result.ok() && result.error().code == "TopicNotFound";
  });
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "TopicNotFound") << gone.error().message;

  // Recreated with fewer partitions: the group's old commits went with the topic.
  kafka.create_topic(topic, 2);
  kafka.produce(topic, 0, 7, kT0);
  kafka.produce(topic, 1, 3, kT0);
  kafka.commit(group, topic, {{0, 2}, {1, 1}});
  const auto back = poll_until(*source, kT0 + seconds(20), kBrokerWait, [](const auto& result) {
    return result.ok() && result->partitions == 2;
  });
  ASSERT_TRUE(back.ok()) << back.error().message;
  expect_partition_lags(*back, {{0, 7, 2, 5}, {1, 3, 1, 2}});
}

TEST_P(KafkaBrokerTest, PartitionsAddedWhilePolling) {
  KafkaOptions options = testkit::test_options();
  options.metadata_max_age = seconds(1);
  SourceContext short_metadata(options);
  auto source = make_source(short_metadata, orders_spec());
  ASSERT_TRUE(source);
  EXPECT_EQ(poll_ok(*source, kT0).partitions, 4);

  broker.add_partitions(topic, 6);
  kafka.produce(topic, 4, 8, kT0);
  kafka.produce(topic, 5, 6, kT0);
  kafka.commit(group, topic, {{4, 2}});
  const auto grown = poll_until(*source, kT0 + seconds(10), kBrokerWait, [](const auto& result) {
    return result.ok() && result->partitions == 6;
  });
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  expect_partition_lags(
      *grown,
      {{0, 10, 3, 7}, {1, 20, 20, 0}, {2, 30, 5, 25}, {3, 40, -1, 0}, {4, 8, 2, 6}, {5, 6, -1, 0}});
  EXPECT_EQ(grown->consumer_lag, 38);
}

// A KIP-848 consumer group (group.protocol=consumer, GA in Kafka 4.0) as librdkafka 2.0.2 sees it.
// librdkafka 2.0.2 cannot be such a member; the Java client (kafka-clients, in the broker's
// libs) runs one: tests/sources/kafka/Kip848Member.java through java's source launcher (needs a
// JDK).
class JavaMember {
 public:
  JavaMember(const std::string& java, const std::string& libs, const std::string& output,
             const std::vector<std::string>& args)
      : output_(output) {
    std::vector<std::string> argv = {
        java, "-Xmx128m", "-cp", libs + "/*",
        std::string(LAGPILOT_SOURCE_DIR) + "/tests/sources/kafka/Kip848Member.java"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, java.c_str(), &actions, nullptr, raw.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~JavaMember() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  JavaMember(const JavaMember&) = delete;
  JavaMember& operator=(const JavaMember&) = delete;

  bool started() const { return pid_ > 0; }
  std::string output() const {
    std::ifstream in(output_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string output_;
  pid_t pid_ = -1;
};

TEST_P(KafkaBrokerTest, Kip848ConsumerGroupAsLibrdkafka202SeesIt) {
  const std::filesystem::path java = broker.broker().value("KAFKA_JAVA");
  if (!std::filesystem::exists(java.parent_path() / "javac")) {
    GTEST_SKIP() << java << " is no JDK: java's source launcher needs javac's compiler";
  }
  const std::string streams = "streams-" + test_name;
  const std::string modern = "modern-" + test_name;
  kafka.create_topic(streams, 4);
  for (int32_t p = 0; p < 4; ++p) kafka.produce(streams, p, 10, kT0);
  JavaMember member(java.string(), broker.broker().value("KAFKA_LIBS"),
                    broker.broker().run_dir() + "/kip848-member.log",
                    {kafka.bootstrap_servers(), modern, streams, "180000"});
  ASSERT_TRUE(member.started());
  ASSERT_TRUE(controlplane::eventually(
      [&] { return member.output().find("assigned") != std::string::npos; }, kBrokerWait,
      milliseconds(200)))
      << member.output();

  auto source = make_source(context, kafka_spec(kafka.bootstrap_servers(), streams, modern));
  ASSERT_TRUE(source);
  // The member reads everything and commits: lag reaches 0 once OffsetFetch sees its commits.
  const auto caught_up = poll_until(*source, kT0, kBrokerWait, [](const auto& result) {
    return result.ok() && result->consumer_lag == 0 && result->partition_lags.size() == 4 &&
           result->partition_lags[0].committed_offset == 10;
  });
  ASSERT_TRUE(caught_up.ok()) << caught_up.error().message;
  // librdkafka 2.0.2's DescribeGroups (below v6) gets "Dead, no members" for a KIP-848 group,
  // as for a group that does not exist; a classic group that only committed is "Empty".
  const auto modern_view = broker.clients().describe_group(modern);
  EXPECT_EQ(modern_view.error, RD_KAFKA_RESP_ERR_NO_ERROR) << modern_view.error_text;
  EXPECT_EQ(modern_view.state, "Dead");
  EXPECT_EQ(modern_view.members, 0);
  EXPECT_EQ(broker.clients().describe_group(group).state, "Empty");
  // So the source reports the members as unknown where the group has commits, not as 0 ...
  EXPECT_FALSE(caught_up->consumers.has_value()) << *caught_up->consumers;
  // ... and 0 for a group that has neither commits nor members.
  auto nobody = make_source(context, kafka_spec(kafka.bootstrap_servers(), streams, "nobody"));
  ASSERT_TRUE(nobody);
  EXPECT_EQ(poll_ok(*nobody, kT0).consumers, std::optional<int>(0));
}

}  // namespace
}  // namespace lagpilot
