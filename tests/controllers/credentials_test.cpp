// --allowed-credential-destinations patterns and the addresses sources name (credentials.h). The
// Secret reads themselves (label, refusals, nothing sent) are in controller_test.cpp, against the
// real API server.
#include "controllers/credentials.h"

#include <gtest/gtest.h>

namespace lagpilot::controllers {
namespace {

CredentialPolicy policy(const std::vector<std::string>& patterns) {
  auto parsed = CredentialPolicy::from_patterns(patterns);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : CredentialPolicy{};
}

TEST(CredentialDestinations, EmptyPolicyAllowsAnywhere) {
  EXPECT_TRUE(policy({}).allows("kafka", "evil.example:9092"));
  EXPECT_TRUE(policy({}).allows("prometheus", "https://evil.example/x"));
}

TEST(CredentialDestinations, EndpointsOfEveryAddressForm) {
  struct Case {
    std::string address, host;
    std::optional<int> port;
  };
  for (const auto& c : std::vector<Case>{
           {"kafka-0.kafka.svc:9092", "kafka-0.kafka.svc", 9092},
           {"Kafka-0.Kafka.SVC.:9093", "kafka-0.kafka.svc", 9093},
           {"10.0.0.7", "10.0.0.7", std::nullopt},
           {"[::1]:6379", "::1", 6379},
           {"SASL_SSL://broker:9094", "broker", 9094},
           {"http://prometheus.monitoring:9090/prefix?x=1", "prometheus.monitoring", 9090},
           {"https://prometheus.monitoring/api", "prometheus.monitoring", 443},
           {"http://user@127.0.0.1/", "127.0.0.1", 80},
           {"nats://nats.queues", "nats.queues", 4222},
           {"tls://[fd00::1]:4443", "fd00::1", 4443},
       }) {
    auto endpoint = parse_endpoint(c.address);
    ASSERT_TRUE(endpoint.ok()) << c.address << ": " << endpoint.error().message;
    EXPECT_EQ(endpoint->host, c.host) << c.address;
    EXPECT_EQ(endpoint->port, c.port) << c.address;
  }
  EXPECT_FALSE(parse_endpoint("http://:80/").ok());
  EXPECT_FALSE(parse_endpoint("broker:http").ok());
}

TEST(CredentialDestinations, HostsPortsAndKinds) {
  auto allowed = policy({"kafka/*.kafka.svc:9092", "prometheus/prometheus.monitoring", "127.0.0.1",
                         "redisStreams/[::1]:6379"});
  EXPECT_TRUE(allowed.allows("kafka", "kafka-0.kafka.svc:9092"));
  EXPECT_FALSE(allowed.allows("kafka", "kafka.svc:9092")) << "*. needs at least one more label";
  EXPECT_FALSE(allowed.allows("kafka", "kafka-0.kafka.svc:9093")) << "another port";
  EXPECT_FALSE(allowed.allows("kafka", "kafka-0.kafka.svc.evil.example:9092"));
  EXPECT_FALSE(allowed.allows("kafka", "kafka-0.kafka.svc")) << "unknown port, pattern has one";
  EXPECT_FALSE(allowed.allows("natsJetStream", "nats://kafka-0.kafka.svc:9092"))
      << "a kind's pattern is for that kind only";
  EXPECT_TRUE(allowed.allows("prometheus", "https://prometheus.monitoring:9091/x"));
  EXPECT_FALSE(allowed.allows("prometheus", "https://prometheus.monitoring.evil.example/"));
  EXPECT_FALSE(allowed.allows("prometheus", "https://evil.example/?prometheus.monitoring"));
  EXPECT_FALSE(allowed.allows("prometheus", "https://evil.example#@prometheus.monitoring"));
  EXPECT_TRUE(allowed.allows("natsJetStream", "nats://127.0.0.1:4222")) << "kind-less pattern";
  EXPECT_TRUE(allowed.allows("redisStreams", "[::1]:6379"));
  EXPECT_FALSE(allowed.allows("rabbitmq", "[::1]:6379"));
  EXPECT_FALSE(allowed.allows("kafka", "not a :: valid [address"));
  EXPECT_TRUE(policy({"*"}).allows("rabbitmq", "anything.example:5672"));
  EXPECT_TRUE(policy({"rabbitmq/*:15672"}).allows("rabbitmq", "http://rabbit:15672"));
}

TEST(CredentialDestinations, BadPatternsAreNamed) {
  for (const char* text : {"https://prometheus:9090", "kafka/", "/host", "ka-fka/host", "host:port",
                           "host:0", "*kafka.svc", "a.*.svc", "*.", "[::1"}) {
    auto parsed = parse_destination_pattern(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, "InvalidPattern");
    EXPECT_NE(parsed.error().message.find(std::string("\"") + text + "\""), std::string::npos)
        << parsed.error().message;
  }
  auto any_port = parse_destination_pattern("kafka/broker:*");
  ASSERT_TRUE(any_port.ok());
  EXPECT_FALSE(any_port->port.has_value());
}

TEST(CredentialDestinations, PatternKindsMustBeKnown) {
  auto typo =
      check_pattern_kinds(policy({"kafak/broker"}), {"kafka", "prometheus"}, {"prometheus"});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("\"kafak/broker\": unknown kind kafak (one of kafka, "
                                      "prometheus)"),
            std::string::npos)
      << typo.error().message;
  EXPECT_TRUE(
      check_pattern_kinds(policy({"prometheus/p", "broker"}), {"kafka"}, {"prometheus"}).ok());
}

}  // namespace
}  // namespace lagpilot::controllers
