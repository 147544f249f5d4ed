// spec.source.prometheus: spec checks, labels, and the answers a real Prometheus rarely gives
// (NaN, Inf, negative, stale, hung) from a scripted HTTP server on loopback. The real server is in
// prometheus_queue_server_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/builtin_sources.h"
#include "sources/prometheus/prometheus_queue_source.h"
#include "tests/notify/test_http_server.h"

namespace lagpilot {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testkit::HttpReply;
using testkit::HttpRequestRecord;
using testkit::TestHttpServer;
using json = nlohmann::json;

const WallTime kNow{std::chrono::milliseconds(1'700'000'123'456)};

json spec_for(const std::string& url, const std::string& depth_query = "sum(queue_depth)") {
  return json{{"serverUrl", url}, {"depthQuery", depth_query}};
}

// A vector answer whose samples are stamped `at` (Prometheus stamps them with the query's time).
std::string vector_answer(const std::vector<std::string>& values, WallTime at = kNow) {
  json result = json::array();
  const double seconds = std::chrono::duration<double>(at.time_since_epoch()).count();
  for (std::size_t i = 0; i < values.size(); ++i) {
    result.push_back(
        {{"metric", {{"queue", "q" + std::to_string(i)}}}, {"value", {seconds, values[i]}}});
  }
  return json{{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}}
      .dump();
}

std::string spec_error(const json& spec) {
  auto parsed = PrometheusQueueSpec::parse(spec);
  if (parsed.ok()) return "(accepted)";
  EXPECT_EQ(parsed.error().code, "InvalidSpec");
  return parsed.error().message;
}

TEST(PrometheusQueueSpecTest, ReadsEveryFieldWithDefaults) {
  auto spec = PrometheusQueueSpec::parse(spec_for("http://prometheus.monitoring:9090/"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->server_url, "http://prometheus.monitoring:9090");
  EXPECT_EQ(spec->depth_query, "sum(queue_depth)");
  EXPECT_TRUE(spec->lag_seconds_query.empty());
  EXPECT_EQ(spec->timeout, 5s);
  EXPECT_TRUE(spec->auth_secret_name.empty());

  json full = spec_for("https://thanos.example/prometheus");
  full["lagSecondsQuery"] = "time() - min(oldest_ts)";
  full["consumersQuery"] = "count(up{job=\"consumer\"} == 1) or vector(0)";
  full["timeoutSeconds"] = 12;
  full["authSecretRef"] = {{"name", "prom-creds"}};
  spec = PrometheusQueueSpec::parse(full);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->lag_seconds_query, "time() - min(oldest_ts)");
  EXPECT_EQ(spec->consumers_query, "count(up{job=\"consumer\"} == 1) or vector(0)");
  EXPECT_EQ(spec->timeout, 12s);
  EXPECT_EQ(spec->auth_secret_name, "prom-creds");
}

TEST(PrometheusQueueSpecTest, ErrorsNameTheField) {
  EXPECT_EQ(spec_error(json::array()), "spec.source.prometheus: must be an object");
  EXPECT_EQ(spec_error(json{{"depthQuery", "x"}}), "spec.source.prometheus.serverUrl: required");
  EXPECT_EQ(spec_error(spec_for("prometheus:9090")),
            "spec.source.prometheus.serverUrl: must start with http:// or https://");
  EXPECT_EQ(spec_error(spec_for("http://admin:hunter2@p:9090")),
            "spec.source.prometheus.serverUrl: must not embed credentials (user:password@); use "
            "authSecretRef");
  EXPECT_EQ(spec_error(json{{"serverUrl", "http://p:9090"}}),
            "spec.source.prometheus.depthQuery: required");
  EXPECT_EQ(spec_error(spec_for("http://p:9090", "  ")),
            "spec.source.prometheus.depthQuery: required");
  EXPECT_EQ(spec_error(spec_for("http://p:9090", std::string(4097, 'x'))),
            "spec.source.prometheus.depthQuery: longer than 4096 characters");
  auto with = [](const char* key, json value) {
    json spec = spec_for("http://p:9090");
    spec[key] = std::move(value);
    return spec;
  };
  EXPECT_EQ(spec_error(with("depthQuery", 5)),
            "spec.source.prometheus.depthQuery: must be a string");
  EXPECT_EQ(spec_error(with("lagSecondsQuery", "")),
            "spec.source.prometheus.lagSecondsQuery: must not be empty (omit it to leave "
            "lagSeconds unknown)");
  EXPECT_EQ(spec_error(with("consumersQuery", " ")),
            "spec.source.prometheus.consumersQuery: must not be empty (omit it to leave "
            "consumers unknown)");
  EXPECT_EQ(spec_error(with("consumersQuery", std::string(4097, 'x'))),
            "spec.source.prometheus.consumersQuery: longer than 4096 characters");
  EXPECT_EQ(spec_error(with("timeoutSeconds", 0)),
            "spec.source.prometheus.timeoutSeconds: must be 1-60, not 0");
  EXPECT_EQ(spec_error(with("timeoutSeconds", "5")),
            "spec.source.prometheus.timeoutSeconds: must be an integer");
  EXPECT_EQ(spec_error(with("authSecretRef", json::object())),
            "spec.source.prometheus.authSecretRef.name: required");
}

TEST(PrometheusQueueSpecTest, TheQueryLabelIsShortAndStable) {
  EXPECT_EQ(prometheus_query_label("sum(\n  sqs_visible{queue=\"orders\"}\n)"),
            "sum( sqs_visible{queue=\"orders\"} )");
  const std::string long_a =
      "sum(aws_sqs_approximate_number_of_messages_visible_average{queue_name="
      "\"orders-eu-west-1-production\"})";
  const std::string long_b =
      "sum(aws_sqs_approximate_number_of_messages_visible_average{queue_name="
      "\"orders-eu-west-1-production-dlq\"})";
  const std::string label_a = prometheus_query_label(long_a);
  EXPECT_EQ(label_a.size(), kQueryLabelLength);
  EXPECT_THAT(label_a, HasSubstr("...#"));
  EXPECT_EQ(label_a, prometheus_query_label(long_a)) << "stable for a given spec";
  EXPECT_NE(label_a, prometheus_query_label(long_b)) << "long queries stay apart";
}

TEST(PrometheusQueueKindTest, RegisteredBuiltInWithLabelsAndSecret) {
  SourceRegistry registry = builtin_sources();
  json spec = spec_for("http://p:9090", "sum(sqs_visible)");
  spec["authSecretRef"] = {{"name", "prom-creds"}};
  auto selected = registry.select_source(json{{"prometheus", spec}});
  ASSERT_TRUE(selected.ok()) << selected.error().message;
  auto checked = selected->kind->check(selected->spec);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->labels.at("query"), "sum(sqs_visible)");
  ASSERT_TRUE(checked->credentials.has_value());
  EXPECT_EQ(checked->credentials->name, "prom-creds");
  EXPECT_EQ(checked->credentials->field, "spec.source.prometheus.authSecretRef");
  ASSERT_EQ(checked->credentials->destinations.size(), 1u);
  EXPECT_EQ(checked->credentials->destinations[0].field, "spec.source.prometheus.serverUrl");
  EXPECT_EQ(checked->credentials->destinations[0].address, "http://p:9090");

  auto bad = selected->kind->check(json{{"serverUrl", "http://p:9090"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "spec.source.prometheus.depthQuery: required");
}

class PrometheusQueueSourceTest : public ::testing::Test {
 protected:
  std::unique_ptr<QueueSource> make(const json& spec, const SourceCredentials& secret = {}) {
    auto created = kind_.create(spec, secret);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? std::move(created).value() : nullptr;
  }

  FakeClock clock_;
  PrometheusQueueKind kind_{&clock_};
};

TEST_F(PrometheusQueueSourceTest, PostsTheDepthQueryAtThePollTimeWithTheToken) {
  TestHttpServer server(
      [](const HttpRequestRecord&) { return HttpReply{200, vector_answer({"41.6"})}; });
  json spec = spec_for(server.url("/prefix/"), "sum(sqs_visible{queue=\"a+b\"})");
  spec["authSecretRef"] = {{"name", "creds"}};
  spec["timeoutSeconds"] = 7;
  auto source = make(spec, {{"token", "t0k3n-value"}});
  ASSERT_TRUE(source);
  auto snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->queue_depth, 42) << "rounded";
  EXPECT_EQ(snapshot->consumer_lag, 42);
  EXPECT_EQ(snapshot->time, kNow);
  EXPECT_FALSE(snapshot->lag_seconds) << "no lagSecondsQuery: unknown";
  EXPECT_FALSE(snapshot->consumers);
  EXPECT_FALSE(snapshot->ingress_rate);
  EXPECT_FALSE(snapshot->egress_rate);
  EXPECT_FALSE(snapshot->progress_position) << "stall detection is off for this source";
  EXPECT_FALSE(snapshot->max_useful_consumers);

  ASSERT_EQ(server.request_count(), 1u);
  auto request = server.requests()[0];
  EXPECT_EQ(request.target, "/prefix/api/v1/query");
  EXPECT_EQ(request.headers["authorization"], "Bearer t0k3n-value");
  EXPECT_THAT(request.body, HasSubstr("time=1700000123.456"));
  EXPECT_THAT(request.body, HasSubstr("timeout=7s"));
  EXPECT_THAT(source->describe(), HasSubstr("depthQuery=sum(sqs_visible{queue=\"a+b\"})"));
  EXPECT_THAT(source->describe(), Not(HasSubstr("t0k3n")));
  EXPECT_EQ(kind_.live_sources(), 1);
  source.reset();
  EXPECT_EQ(kind_.live_sources(), 0);
}

TEST_F(PrometheusQueueSourceTest, LagSecondsComesFromItsOwnQuery) {
  std::map<std::string, std::string> answers;  // by query
  TestHttpServer server([&](const HttpRequestRecord& request) {
    for (const auto& [query, answer] : answers) {
      if (request.body.find("query=" + query + "&") != std::string::npos)
        return HttpReply{200, answer};
    }
    return HttpReply{500, "unexpected query " + request.body};
  });
  json spec = spec_for(server.url(), "depth");
  spec["lagSecondsQuery"] = "age";
  auto source = make(spec);
  ASSERT_TRUE(source);

  answers = {{"depth", vector_answer({"120"})}, {"age", vector_answer({"37.25"})}};
  auto snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->queue_depth, 120);
  ASSERT_TRUE(snapshot->lag_seconds);
  EXPECT_DOUBLE_EQ(*snapshot->lag_seconds, 37.25);
  EXPECT_EQ(snapshot->lag_seconds_method, "query");

  // No age sample: unknown, while the depth still counts; an empty queue is 0 s behind.
  answers = {{"depth", vector_answer({"120"})}, {"age", vector_answer({})}};
  snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_FALSE(snapshot->lag_seconds);
  answers = {{"depth", vector_answer({"0"})}, {"age", vector_answer({})}};
  snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->lag_seconds, 0.0);

  // Several age series: an error naming the field.
  answers = {{"depth", vector_answer({"1"})}, {"age", vector_answer({"1", "2"})}};
  snapshot = source->poll(kNow);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().code, "SourceQueryFailed");
  EXPECT_THAT(snapshot.error().message,
              HasSubstr("spec.source.prometheus.lagSecondsQuery: returned 2 series, expected one"));

  // Slightly negative (clock skew) is 0; clearly negative is an error.
  answers = {{"depth", vector_answer({"1"})}, {"age", vector_answer({"-0.4"})}};
  snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->lag_seconds, 0.0);
  answers = {{"depth", vector_answer({"1"})}, {"age", vector_answer({"-30"})}};
  snapshot = source->poll(kNow);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(snapshot.error().message, HasSubstr("lagSecondsQuery: returned -30"));
}

TEST_F(PrometheusQueueSourceTest, ConsumersComeFromTheirOwnQuery) {
  std::map<std::string, std::string> answers;  // by query
  TestHttpServer server([&](const HttpRequestRecord& request) {
    for (const auto& [query, answer] : answers) {
      if (request.body.find("query=" + query + "&") != std::string::npos)
        return HttpReply{200, answer};
    }
    return HttpReply{500, "unexpected query " + request.body};
  });
  json spec = spec_for(server.url(), "depth");
  spec["consumersQuery"] = "members";
  auto source = make(spec);
  ASSERT_TRUE(source);

  answers = {{"depth", vector_answer({"120"})}, {"members", vector_answer({"3"})}};
  auto snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->queue_depth, 120);
  EXPECT_EQ(snapshot->consumers, 3);
  EXPECT_FALSE(snapshot->lag_seconds) << "no lagSecondsQuery";
  EXPECT_THAT(source->describe(), HasSubstr("consumersQuery=members"));

  // No sample: unknown, not 0 (count() of nothing is no sample; "or vector(0)" makes it 0).
  answers = {{"depth", vector_answer({"120"})}, {"members", vector_answer({})}};
  snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_FALSE(snapshot->consumers);
  answers = {{"depth", vector_answer({"120"})}, {"members", vector_answer({"0"})}};
  snapshot = source->poll(kNow);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->consumers, 0);

  const std::vector<std::pair<std::string, std::string>> errors = {
      {vector_answer({"1", "2"}),
       "spec.source.prometheus.consumersQuery: returned 2 series, expected one: aggregate them, "
       "e.g. sum(...) or count(...)"},
      {vector_answer({"-1"}),
       "spec.source.prometheus.consumersQuery: returned -1: a consumer count cannot be negative"},
      {vector_answer({"+Inf"}), "consumersQuery: returned +Inf, not a consumer count"},
      {vector_answer({"2e9"}), "consumersQuery: returned 2e+09, more consumers than 1000000"},
  };
  for (const auto& [answer, text] : errors) {
    answers = {{"depth", vector_answer({"1"})}, {"members", answer}};
    snapshot = source->poll(kNow);
    ASSERT_FALSE(snapshot.ok()) << answer;
    EXPECT_EQ(snapshot.error().code, "SourceQueryFailed");
    EXPECT_THAT(snapshot.error().message, HasSubstr(text));
  }
}

TEST_F(PrometheusQueueSourceTest, UnusualAnswersAreErrorsNotZeros) {
  std::string answer;
  TestHttpServer server([&](const HttpRequestRecord&) { return HttpReply{200, answer}; });
  auto source = make(spec_for(server.url()));
  ASSERT_TRUE(source);
  const std::string depth_field =
      "prometheus " + server.url("") + ": spec.source.prometheus.depthQuery: ";
  struct Case {
    std::string answer, code, text;
  };
  const std::vector<Case> cases = {
      {vector_answer({}), "SourceNoData", "returned no sample: the depth is unknown"},
      {vector_answer({"NaN"}), "SourceNoData", "returned NaN: the depth is unknown"},
      {vector_answer({"+Inf"}), "SourceQueryFailed", "returned +Inf, not a depth"},
      {vector_answer({"-3"}), "SourceQueryFailed", "returned -3: a depth cannot be negative"},
      {vector_answer({"1", "2", "3"}), "SourceQueryFailed",
       "returned 3 series, expected one: aggregate them, e.g. sum(...) or max(...); first series "
       "{queue=\"q0\"}, {queue=\"q1\"}"},
      {vector_answer({"5"}, kNow - 61s), "SourceNoData",
       "the answer is stale: its sample is 61 s older than the poll (more than 60 s)"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[]}})", "SourceQueryFailed",
       "query returned a range vector"},
      {R"({"status":"error","errorType":"bad_data","error":"parse error"})", "SourceQueryFailed",
       "query failed (bad_data): parse error"},
  };
  for (const auto& c : cases) {
    answer = c.answer;
    auto result = source->poll(kNow);
    ASSERT_FALSE(result.ok()) << c.answer << " gave depth " << result->queue_depth;
    EXPECT_EQ(result.error().code, c.code) << c.answer;
    EXPECT_THAT(result.error().message, HasSubstr(depth_field)) << c.answer;
    EXPECT_THAT(result.error().message, HasSubstr(c.text)) << c.answer;
  }
  // A scalar is a depth too.
  answer = R"({"status":"success","data":{"resultType":"scalar","result":[1700000123.456,"7"]}})";
  auto scalar = source->poll(kNow);
  ASSERT_TRUE(scalar.ok()) << scalar.error().message;
  EXPECT_EQ(scalar->queue_depth, 7);
}

TEST_F(PrometheusQueueSourceTest, AnAuthErrorNamesTheSecretNotItsValue) {
  TestHttpServer server(
      [](const HttpRequestRecord&) { return HttpReply{401, "Unauthorized", "text/plain"}; });
  json spec = spec_for(server.url());
  spec["authSecretRef"] = {{"name", "prom-creds"}};
  auto source = make(spec, {{"token", "very-secret-token"}});
  ASSERT_TRUE(source);
  auto result = source->poll(kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "SourceQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("prometheus " + server.url("")));
  EXPECT_THAT(result.error().message,
              HasSubstr("HTTP 401 (check the credentials in Secret prom-creds)"));
  EXPECT_THAT(result.error().message, Not(HasSubstr("very-secret-token")));

  auto bad_secret = kind_.create(spec, {{"username", "u"}});
  ASSERT_FALSE(bad_secret.ok());
  EXPECT_EQ(bad_secret.error().code, "InvalidCredentials");
  EXPECT_THAT(bad_secret.error().message,
              HasSubstr("spec.source.prometheus.authSecretRef: Secret prom-creds: username and "
                        "password go together"));
}

TEST_F(PrometheusQueueSourceTest, SourcesOfOneServerAndCredentialsShareOneClient) {
  TestHttpServer server(
      [](const HttpRequestRecord&) { return HttpReply{200, vector_answer({"1"})}; });
  auto a = make(spec_for(server.url(), "a"));
  auto b = make(spec_for(server.url(), "b"));
  json with_auth = spec_for(server.url(), "c");
  with_auth["authSecretRef"] = {{"name", "creds"}};
  auto c = make(with_auth, {{"token", "x"}});
  ASSERT_TRUE(a && b && c);
  auto client_of = [](const QueueSource& source) {
    return &dynamic_cast<const PrometheusQueueSource&>(source).client();
  };
  EXPECT_EQ(client_of(*a), client_of(*b));
  EXPECT_NE(client_of(*a), client_of(*c)) << "other credentials, another client";
  EXPECT_EQ(kind_.clients().live_clients(), 2);
  a.reset();
  b.reset();
  c.reset();
  EXPECT_EQ(kind_.clients().live_clients(), 0);
}

TEST_F(PrometheusQueueSourceTest, AHungServerFailsWithinTimeoutSecondsAndTheOthersFailAtOnce) {
  TestHttpServer server([](const HttpRequestRecord&) {
    HttpReply reply;
    reply.hang = true;
    return reply;
  });
  json spec = spec_for(server.url());
  spec["timeoutSeconds"] = 1;
  auto first = make(spec);
  auto second = make(spec_for(server.url(), "other"));
  ASSERT_TRUE(first && second);
  const auto started = std::chrono::steady_clock::now();
  auto result = first->poll(kNow);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "SourceUnreachable");
  EXPECT_THAT(result.error().message,
              HasSubstr("prometheus " + server.url("") + ": no answer within 1 s"));
  EXPECT_LT(took, 3s);
  // The server is down for the gate: the other source fails at once with the same message.
  const auto again = std::chrono::steady_clock::now();
  std::thread probe([&] { (void)first->poll(kNow); });
  ASSERT_TRUE(server.wait_for_requests(2, 5s));
  auto other = second->poll(kNow);
  EXPECT_LT(std::chrono::steady_clock::now() - again, 900ms) << "did not fail fast";
  probe.join();
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "SourceUnreachable");
  EXPECT_EQ(other.error().message, result.error().message);
  EXPECT_EQ(server.request_count(), 2u) << "only the probe may reach a server that is down";
}

}  // namespace
}  // namespace lagpilot
