// spec.source.rabbitmq checks and the management API's queue JSON, without a server.
#include <gtest/gtest.h>

#include "sources/builtin_sources.h"
#include "sources/rabbitmq/management_client.h"
#include "sources/rabbitmq/rabbitmq_source.h"

namespace lagpilot {
namespace {

using Json = nlohmann::json;

std::string error_of(const Json& spec) {
  auto parsed = RabbitMqSourceSpec::parse(spec);
  return parsed.ok() ? "" : parsed.error().code + ": " + parsed.error().message;
}

TEST(RabbitMqSpec, MinimalSpecTakesDefaults) {
  auto spec = RabbitMqSourceSpec::parse({{"host", "rabbitmq"}, {"queue", "orders"}});
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->port, 5672);
  EXPECT_EQ(spec->vhost, "/");
  EXPECT_FALSE(spec->tls);
  EXPECT_EQ(spec->depth_mode, DepthMode::kReady);
  EXPECT_TRUE(spec->management_url.empty());

  auto tls = RabbitMqSourceSpec::parse({{"host", "rabbitmq"}, {"queue", "orders"}, {"tls", true}});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->port, 5671);
}

TEST(RabbitMqSpec, FullSpec) {
  auto spec = RabbitMqSourceSpec::parse({{"host", "rabbitmq.messaging"},
                                         {"port", 5673},
                                         {"vhost", "shop"},
                                         {"queue", "orders"},
                                         {"tls", true},
                                         {"managementUrl", "https://rabbitmq.messaging:15671/"},
                                         {"depthMode", "readyAndUnacked"},
                                         {"authSecretRef", {{"name", "rabbit-auth"}}}});
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->port, 5673);
  EXPECT_EQ(spec->vhost, "shop");
  EXPECT_EQ(spec->management_url, "https://rabbitmq.messaging:15671");
  EXPECT_EQ(spec->depth_mode, DepthMode::kReadyAndUnacked);
  EXPECT_EQ(spec->auth_secret_name, "rabbit-auth");
}

TEST(RabbitMqSpec, ErrorsNameTheField) {
  const Json base = {{"host", "rabbitmq"}, {"queue", "orders"}};
  auto with = [&](const std::string& key, const Json& value) {
    Json spec = base;
    spec[key] = value;
    return error_of(spec);
  };
  EXPECT_EQ(error_of(Json::array()), "InvalidSpec: spec.source.rabbitmq: must be an object");
  EXPECT_EQ(error_of({{"queue", "orders"}}), "InvalidSpec: spec.source.rabbitmq.host: required");
  EXPECT_EQ(error_of({{"host", "rabbitmq"}}), "InvalidSpec: spec.source.rabbitmq.queue: required");
  EXPECT_EQ(with("queue", " "), "InvalidSpec: spec.source.rabbitmq.queue: required");
  EXPECT_EQ(with("queue", std::string(256, 'q')),
            "InvalidSpec: spec.source.rabbitmq.queue: longer than 255 bytes (AMQP's limit)");
  EXPECT_EQ(with("host", "amqp://user:pw@rabbitmq"),
            "InvalidSpec: spec.source.rabbitmq.host: must be a host name or address, not a URL");
  EXPECT_EQ(with("port", 0), "InvalidSpec: spec.source.rabbitmq.port: must be 1-65535, not 0");
  EXPECT_EQ(with("port", Json::parse("18446744073709551615")),
            "InvalidSpec: spec.source.rabbitmq.port: out of range: must be 1-65535, not "
            "18446744073709551615");
  EXPECT_EQ(with("port", "5672"), "InvalidSpec: spec.source.rabbitmq.port: must be an integer");
  EXPECT_EQ(with("vhost", ""),
            "InvalidSpec: spec.source.rabbitmq.vhost: must not be empty (the default vhost is "
            "\"/\")");
  EXPECT_EQ(with("tls", "yes"), "InvalidSpec: spec.source.rabbitmq.tls: must be true or false");
  EXPECT_EQ(with("managementUrl", "rabbitmq:15672"),
            "InvalidSpec: spec.source.rabbitmq.managementUrl: must start with http:// or https://");
  EXPECT_EQ(with("managementUrl", "http://guest:guest@rabbitmq:15672"),
            "InvalidSpec: spec.source.rabbitmq.managementUrl: must not embed credentials "
            "(user:password@); use authSecretRef");
  EXPECT_EQ(with("depthMode", "all"),
            "InvalidSpec: spec.source.rabbitmq.depthMode: must be ready or readyAndUnacked, not "
            "\"all\"");
  EXPECT_NE(with("depthMode", "readyAndUnacked")
                .find("spec.source.rabbitmq.depthMode: readyAndUnacked needs managementUrl"),
            std::string::npos);
  EXPECT_EQ(with("authSecretRef", Json::object()),
            "InvalidSpec: spec.source.rabbitmq.authSecretRef.name: required");
}

TEST(RabbitMqSpec, KindChecksLabelsAndCredentials) {
  RabbitMqSourceKind kind;
  EXPECT_EQ(kind.name(), "rabbitmq");
  auto checked = kind.check(
      {{"host", "rabbitmq"}, {"queue", "orders"}, {"authSecretRef", {{"name", "rabbit-auth"}}}});
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->labels, (std::map<std::string, std::string>{{"queue", "orders"}}));
  ASSERT_TRUE(checked->credentials);
  EXPECT_EQ(checked->credentials->name, "rabbit-auth");
  EXPECT_EQ(checked->credentials->field, "spec.source.rabbitmq.authSecretRef");
  ASSERT_EQ(checked->credentials->destinations.size(), 1u);
  EXPECT_EQ(checked->credentials->destinations[0].field, "spec.source.rabbitmq.host");
  EXPECT_EQ(checked->credentials->destinations[0].address, "rabbitmq:5672");
  auto managed = kind.check({{"host", "fd00::5"},
                             {"queue", "orders"},
                             {"managementUrl", "https://rabbitmq:15671"},
                             {"authSecretRef", {{"name", "rabbit-auth"}}}});
  ASSERT_TRUE(managed.ok()) << managed.error().message;
  ASSERT_EQ(managed->credentials->destinations.size(), 2u);
  EXPECT_EQ(managed->credentials->destinations[0].address, "[fd00::5]:5672");
  EXPECT_EQ(managed->credentials->destinations[1].field, "spec.source.rabbitmq.managementUrl");
  EXPECT_EQ(managed->credentials->destinations[1].address, "https://rabbitmq:15671");

  auto bad = kind.check({{"host", "rabbitmq"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "InvalidSpec");
}

TEST(RabbitMqSpec, CredentialsNeedUsernameAndPasswordTogether) {
  RabbitMqSourceKind kind;
  const Json spec = {
      {"host", "127.0.0.1"}, {"queue", "orders"}, {"authSecretRef", {{"name", "rabbit-auth"}}}};
  auto missing = kind.create(spec, {{"username", "app"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "InvalidCredentials");
  EXPECT_EQ(missing.error().message,
            "spec.source.rabbitmq.authSecretRef: Secret rabbit-auth: username and password go "
            "together; password is missing");
  auto empty = kind.create(spec, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("has none of the keys"), std::string::npos);
  EXPECT_EQ(kind.live_sources(), 0);
  auto created = kind.create(spec, {{"username", "app"}, {"password", "secret"}});
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(kind.live_sources(), 1);
  EXPECT_EQ((*created)->describe(), "rabbitmq queue=orders vhost=/ server=amqp://127.0.0.1:5672");
  EXPECT_EQ((*created)->describe().find("secret"), std::string::npos);
  created->reset();
  EXPECT_EQ(kind.live_sources(), 0);
}

TEST(RabbitMqSpec, RegisteredAsBuiltin) {
  SourceRegistry registry = builtin_sources();
  auto selected = registry.select_source({{"rabbitmq", {{"host", "h"}, {"queue", "q"}}}});
  ASSERT_TRUE(selected.ok()) << selected.error().message;
  EXPECT_EQ(selected->name, "rabbitmq");
}

TEST(ManagementQueueJson, ReadsCountsRatesTimestampAndArguments) {
  auto stats = parse_management_queue(R"({
    "name": "orders", "messages_ready": 7, "messages_unacknowledged": 3, "consumers": 2,
    "arguments": {"x-single-active-consumer": true}, "head_message_timestamp": 1700000000,
    "message_stats": {"publish": 100, "publish_details": {"rate": 12.5},
                      "deliver_get": 90, "deliver_get_details": {"rate": 10.0},
                      "ack": 80, "deliver_no_ack": 4, "get_no_ack": 1}})");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->messages_ready, 7);
  EXPECT_EQ(stats->messages_unacknowledged, 3);
  EXPECT_EQ(stats->consumers, 2);
  EXPECT_TRUE(stats->single_active_consumer);
  ASSERT_TRUE(stats->head_message_timestamp);
  EXPECT_EQ(*stats->head_message_timestamp, WallTime{std::chrono::seconds(1700000000)});
  EXPECT_EQ(stats->publish_rate, 12.5);
  EXPECT_EQ(stats->deliver_get_rate, 10.0);
  EXPECT_EQ(stats->finished_total, 85.0);
}

TEST(ManagementQueueJson, CountersRabbitMqLeavesOutAreZero) {
  auto stats = parse_management_queue(R"({"name": "orders", "messages_ready": 5,
      "message_stats": {"publish": 5, "publish_details": {"rate": 1.0}}})");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->publish_rate, 1.0);
  EXPECT_EQ(stats->deliver_get_rate, 0.0) << "nothing delivered since the statistics began";
  EXPECT_EQ(stats->finished_total, 0.0);
}

TEST(ManagementQueueJson, BrandNewQueueHasNoStatistics) {
  auto stats = parse_management_queue(R"({"name": "orders", "arguments": {},
                                          "head_message_timestamp": null})");
  ASSERT_TRUE(stats.ok());
  EXPECT_FALSE(stats->messages_ready);
  EXPECT_FALSE(stats->single_active_consumer);
  EXPECT_FALSE(stats->head_message_timestamp);
  EXPECT_FALSE(stats->publish_rate);
  EXPECT_FALSE(stats->deliver_get_rate);
  EXPECT_FALSE(stats->finished_total) << "no message_stats: unknown, not 0";

  auto not_queue = parse_management_queue("<html>proxy error</html>");
  ASSERT_FALSE(not_queue.ok());
  EXPECT_EQ(not_queue.error().code, "SourceError");
}

}  // namespace
}  // namespace lagpilot
