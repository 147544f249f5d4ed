#pragma once
// Helpers shared by the Kafka source suites (mock cluster and real broker).
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "controlplane/test_support.h"
#include "sources/kafka/kafka_source.h"
#include "sources/queue_source.h"
#include "tests/sources/kafka/kafka_test_cluster.h"

namespace lagpilot::testkit {

inline const WallTime kT0{std::chrono::seconds(1'700'000'000)};

// A CA certificate (EC P-256, "lagpilot-test-ca") that signed no broker certificate here.
inline constexpr const char* kUnrelatedCaPem = R"(-----BEGIN CERTIFICATE-----
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

inline KafkaOptions test_options() {
  KafkaOptions options;
  options.poll_timeout = std::chrono::seconds(3);
  return options;
}

inline nlohmann::json kafka_spec(const std::string& bootstrap, const std::string& topic,
                                 const std::string& group,
                                 const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json spec = {
      {"bootstrapServers", bootstrap}, {"topic", topic}, {"consumerGroup", group}};
  spec.update(extra);
  return spec;
}

inline std::unique_ptr<QueueSource> make_source(SourceContext& context, const nlohmann::json& spec,
                                                const SourceCredentials& credentials = {}) {
  auto source = create_kafka_source(spec, credentials, context);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(source).value() : nullptr;
}

inline QueueSnapshot poll_ok(QueueSource& source, WallTime now) {
  auto snapshot = source.poll(now);
  EXPECT_TRUE(snapshot.ok()) << snapshot.error().code << ": " << snapshot.error().message;
  return snapshot.ok() ? *snapshot : QueueSnapshot{};
}

// Polls until `accept` takes a result (or, without one, until a poll succeeds), at most `limit`:
// the last result.
inline Result<QueueSnapshot> poll_until(
    QueueSource& source, WallTime now, std::chrono::seconds limit,
    const std::function<bool(const Result<QueueSnapshot>&)>& accept =
        [](const Result<QueueSnapshot>& result) { return result.ok(); }) {
  Result<QueueSnapshot> result = Error{};
  controlplane::eventually(
      [&] {
        result = source.poll(now);
        return accept(result);
      },
      limit, std::chrono::milliseconds(100));
  return result;
}

inline Result<QueueSnapshot> poll_until_ok(QueueSource& source, WallTime now,
                                           std::chrono::seconds limit) {
  return poll_until(source, now, limit);
}

inline bool same(const PartitionLag& a, const PartitionLag& b) {
  return a.partition == b.partition && a.high_watermark == b.high_watermark &&
         a.committed_offset == b.committed_offset && a.lag == b.lag;
}

inline void expect_partition_lags(const QueueSnapshot& snapshot,
                                  const std::vector<PartitionLag>& want) {
  ASSERT_EQ(snapshot.partition_lags.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const PartitionLag& got = snapshot.partition_lags[i];
    EXPECT_TRUE(same(got, want[i]))
        << "partition " << got.partition << ": high " << got.high_watermark << " committed "
        << got.committed_offset << " lag " << got.lag;
  }
}

inline std::vector<std::string> split_servers(const std::string& bootstrap) {
  std::vector<std::string> servers;
  std::stringstream list(bootstrap);
  for (std::string server; std::getline(list, server, ',');) servers.push_back(server);
  return servers;
}

inline double elapsed_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The running test's name as a Kafka topic or group name can hold it ("Case/mock" ->
// "Case-mock").
inline std::string kafka_safe_test_name() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  }
  return name;
}

// The cluster a shared case runs against: a value parameter of KafkaSourceCase.
using KafkaClusterGetter = KafkaTestCluster& (*)();

// The Kafka source cases that run against every cluster (kafka_source_cases.cpp). Each test gets
// its own topic and group, "orders-<test>" and "order-processor-<test>": 4 partitions holding
// 10, 20, 30, 40 records. Record i of partition 0 is stamped T0 + i s, of partition 2 T0 + 0.5 s
// + 2i s, of partition 3 T0 - 30 s + i s. The group has committed 3 on partition 0, 20 (all) on
// partition 1, 5 on partition 2, nothing on 3. A binary instantiates the cases for its cluster:
//   INSTANTIATE_TEST_SUITE_P(Kafka, KafkaSourceCase, ::testing::Values(&shared_mock),
//                            [](const auto&) { return std::string("mock"); });
// (The getter runs in the fixture, once the binary's environments are up.)
class KafkaSourceCase : public ::testing::TestWithParam<KafkaClusterGetter> {
 protected:
  KafkaSourceCase() : kafka(GetParam()()) {}

  void SetUp() override {
    kafka.create_topic(topic, 4);
    kafka.produce(topic, 0, 10, kT0);
    kafka.produce(topic, 1, 20, kT0);
    kafka.produce(topic, 2, 30, kT0 + std::chrono::milliseconds(500),
                  std::chrono::milliseconds(2000));
    kafka.produce(topic, 3, 40, kT0 - std::chrono::seconds(30));
    kafka.commit(group, topic, {{0, 3}, {1, 20}, {2, 5}});
  }

  nlohmann::json orders_spec(const nlohmann::json& extra = nlohmann::json::object()) {
    return kafka_spec(kafka.bootstrap_servers(), topic, group, extra);
  }

  KafkaTestCluster& kafka;
  const std::string test_name = kafka_safe_test_name();
  const std::string topic = "orders-" + test_name;
  const std::string group = "order-processor-" + test_name;
  SourceContext context{test_options()};
};

}  // namespace lagpilot::testkit
