// Spec parsing, the source factory and credential handling: no cluster needed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sources/builtin_sources.h"
#include "sources/kafka/kafka_client.h"
#include "sources/kafka/kafka_source.h"

namespace lagpilot {
namespace {

using nlohmann::json;

json valid_kafka_spec() {
  return {{"bootstrapServers", "kafka-0.kafka:9092,kafka-1.kafka:9092"},
          {"topic", "orders"},
          {"consumerGroup", "order-processor"}};
}

std::string spec_error(const json& spec) {
  auto parsed = KafkaSourceSpec::parse(spec);
  if (parsed.ok()) return "ok";
  EXPECT_EQ(parsed.error().code, "InvalidSpec");
  return parsed.error().message;
}

TEST(KafkaSourceSpec, ParsesTheSketchedSpec) {
  json spec = valid_kafka_spec();
  spec["offsetResetPolicy"] = "earliest";
  spec["lagSecondsMethod"] = "fetch";
  spec["authSecretRef"] = {{"name", "kafka-client"}};  // the controller's business
  auto parsed = KafkaSourceSpec::parse(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->topic, "orders");
  EXPECT_EQ(parsed->consumer_group, "order-processor");
  EXPECT_EQ(parsed->offset_reset_policy, OffsetResetPolicy::kEarliest);
  EXPECT_EQ(parsed->lag_seconds_method, LagSecondsMethod::kFetch);

  auto defaults = KafkaSourceSpec::parse(valid_kafka_spec());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->offset_reset_policy, OffsetResetPolicy::kLatest);
  EXPECT_FALSE(defaults->lag_seconds_method.has_value());
}

// Each entry is host:port, checked before anything connects; the error names the entry's index.
TEST(KafkaSourceSpec, BootstrapServersAreHostPortEntries) {
  auto with_servers = [](const std::string& servers) {
    json spec = valid_kafka_spec();
    spec["bootstrapServers"] = servers;
    return spec_error(spec);
  };
  for (const char* good : {"kafka:9092", "a:1,b:65535", "10.0.0.1:9092", "[::1]:9092",
                           "[fd00::a:1]:9093, kafka_2.example.com:9092,", "k:9092,,k2:9092"}) {
    EXPECT_EQ(with_servers(good), "ok") << good;
  }
  const std::string field = "spec.source.kafka.bootstrapServers";
  EXPECT_EQ(with_servers("kafka:0"), field + "[0]: port must be 1-65535 in \"kafka:0\"");
  EXPECT_EQ(with_servers("a:9092,b:65536"), field + "[1]: port must be 1-65535 in \"b:65536\"");
  EXPECT_EQ(with_servers("a:9092, b:x"), field + "[1]: port must be 1-65535 in \"b:x\"");
  EXPECT_EQ(with_servers("a:9092,b:"), field + "[1]: port must be 1-65535 in \"b:\"");
  EXPECT_EQ(with_servers("kafka"), field + "[0]: \"kafka\" has no port (host:port)");
  EXPECT_EQ(with_servers(":9092"), field + "[0]: \":9092\" has no host (host:port)");
  EXPECT_EQ(with_servers("a:1,,SASL_SSL://k:9093"),
            field +
                "[2]: \"SASL_SSL://k:9093\" must be host:port without a scheme (SASL_SSL://): "
                "the auth Secret's security.protocol says how to connect");
  EXPECT_EQ(with_servers("http://k:9092"),
            field +
                "[0]: \"http://k:9092\" must be host:port without a scheme (http://): the auth "
                "Secret's security.protocol says how to connect");
  EXPECT_EQ(with_servers("::1:9092"),
            field + "[0]: \"::1:9092\": an IPv6 address must be in brackets, as in [::1]:9092");
  EXPECT_EQ(with_servers("[::1]"), field + "[0]: \"[::1]\" has no port (host:port)");
  EXPECT_EQ(with_servers("[::1:9092"),
            field + "[0]: \"[::1:9092\" has no ']' after the IPv6 address");
  EXPECT_EQ(with_servers("[]:9092"), field + "[0]: \"[]:9092\" has no IPv6 address in brackets");
  EXPECT_EQ(with_servers("[kafka]:9092"),
            field + "[0]: \"[kafka]:9092\" has no IPv6 address in brackets");
  EXPECT_EQ(with_servers("[::1]9092"), field + "[0]: \"[::1]9092\" is not host:port");
  EXPECT_EQ(with_servers("ka fka:9092"),
            field + "[0]: \"ka fka:9092\" is not host:port (a host name or IP address)");
  EXPECT_EQ(with_servers(" , "), field + ": required");
  // The connection settings check the same (the source is built from them).
  auto settings = KafkaConnectionSettings::from("a:9092,b:99999", {});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().message, field + "[1]: port must be 1-65535 in \"b:99999\"");
}

TEST(KafkaSourceSpec, ErrorsNameTheField) {
  for (const char* field : {"bootstrapServers", "topic", "consumerGroup"}) {
    json missing = valid_kafka_spec();
    missing.erase(field);
    EXPECT_EQ(spec_error(missing), std::string("spec.source.kafka.") + field + ": required");
    json blank = valid_kafka_spec();
    blank[field] = "  ";
    EXPECT_EQ(spec_error(blank), std::string("spec.source.kafka.") + field + ": required");
    json wrong_type = valid_kafka_spec();
    wrong_type[field] = 42;
    EXPECT_EQ(spec_error(wrong_type),
              std::string("spec.source.kafka.") + field + ": must be a string");
  }
  json policy = valid_kafka_spec();
  policy["offsetResetPolicy"] = "newest";
  EXPECT_EQ(spec_error(policy),
            "spec.source.kafka.offsetResetPolicy: must be latest or earliest, not \"newest\"");
  json method = valid_kafka_spec();
  method["lagSecondsMethod"] = "guess";
  EXPECT_EQ(spec_error(method),
            "spec.source.kafka.lagSecondsMethod: must be interpolate or fetch, not \"guess\"");
  json topic = valid_kafka_spec();
  topic["topic"] = "orders/eu";
  EXPECT_EQ(spec_error(topic),
            "spec.source.kafka.topic: \"orders/eu\" is not a valid Kafka topic name");
  EXPECT_EQ(spec_error(json::array()), "spec.source.kafka: must be an object");
}

TEST(SourceRegistry, SelectsByKindAndRejectsUnknownKinds) {
  SourceRegistry registry = builtin_sources();
  EXPECT_EQ(registry.source_kinds(),
            (std::vector<std::string>{"kafka", "natsJetStream", "prometheus", "rabbitmq",
                                      "redisStreams"}));
  EXPECT_EQ(registry.latency_kinds(), std::vector<std::string>{"prometheus"});

  auto unknown = registry.select_source(json{{"sqs", {{"queue", "orders"}}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "InvalidSpec");
  EXPECT_EQ(unknown.error().message,
            "spec.source.sqs: unsupported source kind (supported: kafka, natsJetStream, "
            "prometheus, rabbitmq, redisStreams)");

  auto two = registry.select_source(json{{"kafka", valid_kafka_spec()}, {"redis", json::object()}});
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message,
            "spec.source: set exactly one of kafka, natsJetStream, prometheus, rabbitmq, "
            "redisStreams (found 2)");
  auto none = registry.select_source(json::object());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(
      none.error().message,
      "spec.source: set exactly one of kafka, natsJetStream, prometheus, rabbitmq, redisStreams");

  auto latency = registry.select_latency(json{{"graphite", json::object()}});
  ASSERT_FALSE(latency.ok());
  EXPECT_EQ(latency.error().message,
            "spec.latency.graphite: unsupported source kind (supported: prometheus)");
}

TEST(SourceRegistry, TheKindChecksItsMemberAndNamesItsSecret) {
  SourceRegistry registry = builtin_sources();
  json bad = valid_kafka_spec();
  bad.erase("topic");
  auto selected = registry.select_source(json{{"kafka", bad}});
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ(selected->spec_path, "spec.source.kafka");
  auto checked = selected->kind->check(selected->spec);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, "spec.source.kafka.topic: required");

  json with_secret = valid_kafka_spec();
  with_secret["authSecretRef"] = {{"name", "kafka-auth"}};
  auto good = registry.select_source(json{{"kafka", with_secret}});
  ASSERT_TRUE(good.ok());
  auto named = good->kind->check(good->spec);
  ASSERT_TRUE(named.ok()) << named.error().message;
  EXPECT_EQ(named->labels, (std::map<std::string, std::string>{{"topic", "orders"}}));
  ASSERT_TRUE(named->credentials.has_value());
  EXPECT_EQ(named->credentials->name, "kafka-auth");
  EXPECT_EQ(named->credentials->field, "spec.source.kafka.authSecretRef");
  ASSERT_EQ(named->credentials->destinations.size(), 2u) << "every bootstrap server";
  EXPECT_EQ(named->credentials->destinations[1].field, "spec.source.kafka.bootstrapServers");
  EXPECT_EQ(named->credentials->destinations[1].address, "kafka-1.kafka:9092");

  with_secret["authSecretRef"] = json::object();
  auto empty_ref = registry.select_source(json{{"kafka", with_secret}});
  ASSERT_TRUE(empty_ref.ok());
  auto refused = empty_ref->kind->check(empty_ref->spec);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "spec.source.kafka.authSecretRef.name: required");
}

TEST(KafkaSourceKind, CreatesWithoutWaitingForTheClusterAndCountsLiveSources) {
  KafkaSourceKind kafka;
  json bad = valid_kafka_spec();
  bad.erase("topic");
  auto invalid = kafka.create(bad, {});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().message, "spec.source.kafka.topic: required");
  EXPECT_EQ(kafka.live_sources(), 0);

  // Creating does not wait for the cluster: a source for an unreachable one is created, counted.
  json unreachable = valid_kafka_spec();
  unreachable["bootstrapServers"] = "127.0.0.1:2,127.0.0.1:1";
  auto created = kafka.create(unreachable, {});
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)->describe(),
            "kafka topic=orders group=order-processor bootstrap=127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(kafka.live_sources(), 1);
  created->reset();
  EXPECT_EQ(kafka.live_sources(), 0);
  EXPECT_EQ(kafka.kafka_clients().size(), 0u);
}

TEST(SourceRegistry, AcceptsExtraKinds) {
  class FakeKind final : public SourceKind {
   public:
    std::string name() const override { return "fake"; }
    Result<CheckedSourceSpec> check(const json& spec) const override {
      return Error{"InvalidSpec", "spec.source.fake.queue: " + spec.value("queue", "")};
    }
    Result<std::unique_ptr<QueueSource>> create(const json&, const SourceCredentials&) override {
      return Error{"Unreachable", "never"};
    }
    int live_sources() const override { return 0; }
  };
  SourceRegistry registry = builtin_sources();
  registry.add(std::make_unique<FakeKind>());
  EXPECT_EQ(registry.source_kinds(),
            (std::vector<std::string>{"fake", "kafka", "natsJetStream", "prometheus", "rabbitmq",
                                      "redisStreams"}));
  auto selected = registry.select_source(json{{"fake", {{"queue", "q1"}}}});
  ASSERT_TRUE(selected.ok()) << selected.error().message;
  auto checked = selected->kind->check(selected->spec);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, "spec.source.fake.queue: q1");
}

TEST(KafkaConnectionSettings, InfersSecurityFromTheSecretKeys) {
  auto plain = KafkaConnectionSettings::from(" b:9092 , a:9092,a:9092", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->bootstrap_servers, "a:9092,b:9092");
  EXPECT_EQ(plain->security_protocol, "plaintext");

  auto sasl = KafkaConnectionSettings::from(
      "a:9092", {{"sasl.username", "app"}, {"sasl.password", "hunter2"}});
  ASSERT_TRUE(sasl.ok());
  EXPECT_EQ(sasl->security_protocol, "sasl_ssl");
  EXPECT_EQ(sasl->sasl_mechanism, "PLAIN");

  auto scram = KafkaConnectionSettings::from("a:9092", {{"security.protocol", "SASL_PLAINTEXT"},
                                                        {"sasl.mechanism", "scram-sha-512"},
                                                        {"sasl.username", "app"},
                                                        {"sasl.password", "hunter2"}});
  ASSERT_TRUE(scram.ok());
  EXPECT_EQ(scram->security_protocol, "sasl_plaintext");
  EXPECT_EQ(scram->sasl_mechanism, "SCRAM-SHA-512");

  auto tls = KafkaConnectionSettings::from("a:9092", {{"ca.crt", "-----BEGIN CERTIFICATE-----"}});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->security_protocol, "ssl");
}

TEST(KafkaConnectionSettings, ErrorsNameTheSecretKeyAndNeverTheSecret) {
  struct Case {
    SourceCredentials credentials;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"sasl.username", "app"}},
       "secret key sasl.password: required for security.protocol SASL_SSL"},
      {{{"sasl.password", "hunter2"}},
       "secret key sasl.username: required for security.protocol SASL_SSL"},
      {{{"sasl.mechanism", "GSSAPI"}, {"sasl.username", "app"}, {"sasl.password", "hunter2"}},
       "secret key sasl.mechanism: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"},
      {{{"security.protocol", "tls"}},
       "secret key security.protocol: must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"},
      {{{"security.protocol", "SSL"}, {"sasl.username", "app"}, {"sasl.password", "hunter2"}},
       "secret key security.protocol: SASL keys are set but security.protocol is SSL"},
  };
  for (const auto& c : cases) {
    auto settings = KafkaConnectionSettings::from("a:9092", c.credentials);
    ASSERT_FALSE(settings.ok()) << c.message;
    EXPECT_EQ(settings.error().code, "InvalidCredentials");
    EXPECT_EQ(settings.error().message, c.message);
    EXPECT_EQ(settings.error().message.find("hunter2"), std::string::npos);
  }
  auto ok = KafkaConnectionSettings::from(
      "a:9092", {{"sasl.username", "app"}, {"sasl.password", "hunter2"}, {"ca.crt", "pem"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->describe(),
            "bootstrap=a:9092 security=sasl_ssl mechanism=PLAIN user=app ca=custom");
}

}  // namespace
}  // namespace lagpilot
