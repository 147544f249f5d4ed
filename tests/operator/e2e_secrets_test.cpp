// Issue 14, end to end: the real kube-apiserver, the lagpilot binary as a separate process and real
// servers of every kind that takes credentials, each reached with a Secret's values:
//   Kafka SASL (librdkafka's mock cluster: it speaks no SASL, so the poll fails, after the client
//   was built with the password), Prometheus latency with a bearer token and spec.source.prometheus
//   with basic auth (a loopback HTTP server that records what it receives), Redis with a password,
//   RabbitMQ with a user and password, NATS JetStream with a token, and a webhook whose URL (a
//   token in its path) comes from a Secret.
// With --allowed-credential-destinations=127.0.0.1, one Secret without the allow label and one
// server outside the list, whose conditions say so. Then every secret value (and its base64) is
// looked for in the operator's whole log, every Event of the namespace, every QueueMonitor status
// and /metrics: none may appear.
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "tests/notify/test_http_server.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/sources/nats/nats_fixture.h"
#include "tests/sources/rabbitmq/rabbitmq_fixture.h"
#include "tests/sources/redis/redis_fixture.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::kubectl;
using testkit::monitor_status;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

constexpr const char* kKafkaPassword = "kafka-sasl-pw-5d1f0c";
constexpr const char* kPrometheusToken = "prom-bearer-tok-93be71";
constexpr const char* kPrometheusPassword = "prom-basic-pw-27aa4e";
constexpr const char* kRedisPassword = "redis-pw-c0ffee81";
constexpr const char* kNatsToken = "nats-tok-4b8d2e";
constexpr const char* kWebhookToken = "hook-path-tok-e7f310";
constexpr const char* kUnlabelledToken = "unlabelled-tok-61d9a5";

std::string base64(const std::string& text) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0, bits = -6;
  for (unsigned char c : text) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kAlphabet[(value >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kAlphabet[((value << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

Json secret(const std::string& name, const Json& string_data, bool allowed = true) {
  Json object = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", name}}},
                 {"type", "Opaque"},
                 {"stringData", string_data}};
  if (allowed) object["metadata"]["labels"] = {{"lagpilot.io/allow", "true"}};
  return object;
}

Json monitor(const std::string& name, const Json& source) {
  return {{"apiVersion", "lagpilot.io/v1alpha1"},
          {"kind", "QueueMonitor"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"source", source},
            {"pollIntervalSeconds", 1},
            {"target", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "consumer"}}},
            {"scaling",
             {{"policy", "lagPerReplica"},
              {"targetLagPerReplica", 500},
              {"minReplicas", 1},
              {"maxReplicas", 4}}}}}};
}

// A Prometheus that answers every instant query with one sample of 3, stamped now.
testkit::HttpReply prometheus_answer(const testkit::HttpRequestRecord&) {
  return {200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},)"
               R"("value":[)" +
                   std::to_string(std::time(nullptr)) + R"(,"3"]}]}})"};
}

std::string condition(const Json& status, const std::string& type, const std::string& field) {
  for (const auto& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c.value(field, "");
  }
  return "";
}

TEST(EndToEndSecrets, NoCredentialOfAnyKindReachesLogsEventsStatusOrMetrics) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 2);
  testkit::TestHttpServer prometheus(prometheus_answer);
  testkit::TestHttpServer webhook([](const auto&) { return testkit::HttpReply{500, "{}"}; });
  testkit::RedisServer redis({.password = kRedisPassword});
  redis.client().ok({"XGROUP", "CREATE", "orders", "order-processor", "0", "MKSTREAM"});
  testkit::NatsServer::Options nats_options;
  nats_options.token = kNatsToken;
  testkit::NatsServer nats(nats_options);
  testkit::RabbitMqServer rabbitmq;
  auto queue = controlplane::run_command(
      "curl -sf -u " + std::string(testkit::RabbitMqServer::kUser) + ":" + rabbitmq.password() +
      " -X PUT -H 'content-type: application/json' -d '{\"durable\":true}' " +
      rabbitmq.management_url() + "/api/queues/%2F/orders");
  ASSERT_EQ(queue.exit_code, 0) << queue.output;

  controlplane::CommandResult crds;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        crds = controlplane::kubectl_install_crds();
        return crds.exit_code == 0;
      },
      seconds(30), milliseconds(500)))
      << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e-secrets");
  const std::string prometheus_url = "http://127.0.0.1:" + std::to_string(prometheus.port());
  const std::string webhook_url = webhook.url("/hooks/" + std::string(kWebhookToken));

  Json kafka_monitor = monitor("kafka", {{"kafka",
                                          {{"bootstrapServers", kafka.bootstrap_servers()},
                                           {"topic", "orders"},
                                           {"consumerGroup", "order-processor"},
                                           {"authSecretRef", {{"name", "kafka-sasl"}}}}}});
  Json redis_monitor = monitor("redis", {{"redisStreams",
                                          {{"address", redis.address()},
                                           {"stream", "orders"},
                                           {"consumerGroup", "order-processor"},
                                           {"authSecretRef", {{"name", "redis-auth"}}}}}});
  redis_monitor["spec"]["latency"] = {{"prometheus",
                                       {{"serverUrl", prometheus_url},
                                        {"query", "vector(0.75)"},
                                        {"authSecretRef", {{"name", "prom-token"}}}}}};
  redis_monitor["spec"]["alerts"] = Json::parse(
      R"([{"name":"Always","metric":"consumerLag","op":">=","threshold":0,"forSeconds":0,
           "severity":"critical","summary":"lag {{ .value }}"}])");
  redis_monitor["spec"]["notifications"] = {
      {"webhooks", {{{"name", "oncall"}, {"urlSecretRef", {{"name", "oncall-hook"}}}}}}};
  Json prometheus_monitor =
      monitor("prometheus", {{"prometheus",
                              {{"serverUrl", prometheus_url},
                               {"depthQuery", "vector(3)"},
                               {"authSecretRef", {{"name", "prom-basic"}}}}}});
  Json rabbitmq_monitor = monitor("rabbitmq", {{"rabbitmq",
                                                {{"host", "127.0.0.1"},
                                                 {"port", rabbitmq.amqp_port()},
                                                 {"queue", "orders"},
                                                 {"managementUrl", rabbitmq.management_url()},
                                                 {"authSecretRef", {{"name", "rabbit-auth"}}}}}});
  Json nats_monitor = monitor("nats", {{"natsJetStream",
                                        {{"servers", {nats.url()}},
                                         {"stream", "orders"},
                                         {"consumer", "order-processor"},
                                         {"authSecretRef", {{"name", "nats-auth"}}}}}});
  // A Secret its owner did not allow, and a server outside --allowed-credential-destinations.
  Json unlabelled = monitor("unlabelled", {{"prometheus",
                                            {{"serverUrl", prometheus_url},
                                             {"depthQuery", "vector(5)"},
                                             {"authSecretRef", {{"name", "not-for-lagpilot"}}}}}});
  Json elsewhere = monitor(
      "elsewhere", {{"prometheus",
                     {{"serverUrl", "http://localhost:" + std::to_string(prometheus.port())},
                      {"depthQuery", "vector(7)"},
                      {"authSecretRef", {{"name", "prom-token"}}}}}});

  const std::vector<Json> objects = {
      controlplane::deployment_manifest("consumer", 1),
      secret("kafka-sasl", {{"security.protocol", "SASL_PLAINTEXT"},
                            {"sasl.mechanism", "PLAIN"},
                            {"sasl.username", "app"},
                            {"sasl.password", kKafkaPassword}}),
      secret("prom-token", {{"token", kPrometheusToken}}),
      secret("prom-basic", {{"username", "reader"}, {"password", kPrometheusPassword}}),
      secret("redis-auth", {{"password", kRedisPassword}}),
      secret("rabbit-auth",
             {{"username", testkit::RabbitMqServer::kUser}, {"password", rabbitmq.password()}}),
      secret("nats-auth", {{"token", kNatsToken}}),
      secret("oncall-hook", {{"url", webhook_url}}),
      secret("not-for-lagpilot", {{"token", kUnlabelledToken}}, /*allowed=*/false),
      kafka_monitor,
      redis_monitor,
      prometheus_monitor,
      rabbitmq_monitor,
      nats_monitor,
      unlabelled,
      elsewhere};
  for (const auto& object : objects) {
    auto applied = kubectl("apply -n " + ns.name(), object.dump());
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
  }

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-e2e-secrets-" + std::to_string(::getpid()) + ".log");
  testkit::OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "trace",
       "--allowed-credential-destinations=127.0.0.1"},
      log_path);
  auto metrics_port = lagpilot.announced_port("metrics");
  ASSERT_TRUE(metrics_port.has_value()) << lagpilot.log_tail();

  // Every monitor polled, and the credentials reached the servers that take them.
  for (const char* name :
       {"kafka", "redis", "prometheus", "rabbitmq", "nats", "unlabelled", "elsewhere"}) {
    ASSERT_TRUE(controlplane::eventually(
        [&] {
          return !condition(monitor_status(ns.name(), name), "SourceReachable", "status").empty();
        },
        seconds(60), milliseconds(200)))
        << name << "\n"
        << lagpilot.log_tail();
  }
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        return condition(monitor_status(ns.name(), "redis"), "SourceReachable", "status") ==
                   "True" &&
               condition(monitor_status(ns.name(), "redis"), "LatencyAvailable", "status") ==
                   "True" &&
               condition(monitor_status(ns.name(), "rabbitmq"), "SourceReachable", "status") ==
                   "True";
      },
      seconds(30), milliseconds(200)))
      << monitor_status(ns.name(), "redis").dump(2) << monitor_status(ns.name(), "rabbitmq").dump(2)
      << lagpilot.log_tail();
  ASSERT_TRUE(webhook.wait_for_requests(1, seconds(30))) << "the alert's webhook was attempted";
  EXPECT_EQ(webhook.requests()[0].target, "/hooks/" + std::string(kWebhookToken));
  std::set<std::string> authorizations;
  for (const auto& request : prometheus.requests())
    authorizations.insert(
        request.headers.count("authorization") ? request.headers.at("authorization") : "");
  EXPECT_TRUE(authorizations.count(std::string("Bearer ") + kPrometheusToken));
  EXPECT_TRUE(
      authorizations.count("Basic " + base64(std::string("reader:") + kPrometheusPassword)));
  EXPECT_EQ(authorizations.count("Bearer " + std::string(kUnlabelledToken)), 0u);
  EXPECT_NE(monitor_status(ns.name(), "nats").dump().find("nats"), std::string::npos);

  // The refusals, as the monitors' owners see them.
  Json refused = monitor_status(ns.name(), "unlabelled");
  EXPECT_EQ(condition(refused, "SourceReachable", "reason"), "SecretNotAllowed") << refused.dump(2);
  EXPECT_NE(
      condition(refused, "SourceReachable", "message")
          .find("Secret " + ns.name() + "/not-for-lagpilot is not labelled lagpilot.io/allow"),
      std::string::npos)
      << refused.dump(2);
  Json outside = monitor_status(ns.name(), "elsewhere");
  EXPECT_EQ(condition(outside, "SourceReachable", "reason"), "DestinationNotAllowed")
      << outside.dump(2);
  EXPECT_NE(condition(outside, "SourceReachable", "message")
                .find("spec.source.prometheus.serverUrl: http://localhost:"),
            std::string::npos)
      << outside.dump(2);

  // Everything the operator wrote or served, gathered while it runs, then its whole log.
  std::string written;
  auto events = kubectl("get events -n " + ns.name() + " -o json");
  ASSERT_EQ(events.exit_code, 0) << events.output;
  EXPECT_NE(events.output.find("SecretNotAllowed"), std::string::npos) << "the Events were read";
  written += events.output;
  auto statuses = kubectl("get queuemonitors -n " + ns.name() + " -o json");
  ASSERT_EQ(statuses.exit_code, 0) << statuses.output;
  written += statuses.output;
  auto metrics = controlplane::run_command(
      "curl -sf http://127.0.0.1:" + std::to_string(*metrics_port) + "/metrics");
  ASSERT_EQ(metrics.exit_code, 0) << metrics.output;
  EXPECT_NE(metrics.output.find("lagpilot_"), std::string::npos) << "the metrics were read";
  written += metrics.output;
  EXPECT_EQ(lagpilot.terminate(seconds(15)), 0);
  written += lagpilot.log();

  for (const std::string& value :
       {std::string(kKafkaPassword), std::string(kPrometheusToken),
        std::string(kPrometheusPassword), std::string(kRedisPassword), rabbitmq.password(),
        std::string(kNatsToken), std::string(kWebhookToken), std::string(kUnlabelledToken)}) {
    EXPECT_EQ(written.find(value), std::string::npos) << "a credential appeared: " << value;
    EXPECT_EQ(written.find(base64(value)), std::string::npos) << "in base64: " << value;
  }
  if (!HasFailure()) std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
