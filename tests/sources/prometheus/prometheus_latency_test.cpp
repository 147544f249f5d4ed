// PrometheusLatencySource: spec checks, and the HTTP side against a scripted HTTP server on
// loopback (credentials, answers a real Prometheus rarely gives, an unreachable or hung server).
// The real Prometheus server is in prometheus_server_test.cpp.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <thread>
#include <vector>

#include "sources/prometheus/prometheus_latency.h"
#include "tests/notify/test_http_server.h"

namespace lagpilot {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testkit::HttpReply;
using testkit::HttpRequestRecord;
using testkit::TestHttpServer;

nlohmann::json spec_for(const std::string& url, const std::string& query = "up") {
  return nlohmann::json{{"prometheus", {{"serverUrl", url}, {"query", query}}}};
}

std::string vector_answer(const std::string& value) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,")" +
         value + R"("]}]}})";
}

std::unique_ptr<PrometheusLatencySource> make_source(
    const nlohmann::json& spec, const std::map<std::string, std::string>& secret = {}) {
  auto source = PrometheusLatencySource::create(spec, secret);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(source).value() : nullptr;
}

// Form fields of an application/x-www-form-urlencoded body, decoded.
std::map<std::string, std::string> form_fields(const std::string& body) {
  auto decode = [](const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size()) {
        out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += text[i] == '+' ? ' ' : text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> fields;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(start, end - start);
    std::size_t equals = pair.find('=');
    if (equals != std::string::npos)
      fields[decode(pair.substr(0, equals))] = decode(pair.substr(equals + 1));
    start = end + 1;
  }
  return fields;
}

TEST(PrometheusLatencySpecTest, AppliesDefaults) {
  auto spec = parse_prometheus_latency_spec(spec_for("http://prometheus.monitoring:9090/"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->server_url, "http://prometheus.monitoring:9090");
  EXPECT_EQ(spec->query, "up");
  EXPECT_EQ(spec->name, "latencyP95Seconds");
  EXPECT_EQ(spec->timeout, 5s);
  EXPECT_TRUE(spec->auth_secret_name.empty());
  // The prometheus object itself is accepted too.
  auto inner = parse_prometheus_latency_spec(spec_for("https://p:9090")["prometheus"]);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->server_url, "https://p:9090");
}

TEST(PrometheusLatencySpecTest, ReadsEveryField) {
  nlohmann::json prometheus{{"serverUrl", "https://thanos.example/prometheus"},
                            {"query", "max(x)"},
                            {"name", "p99"},
                            {"timeoutSeconds", 12},
                            {"authSecretRef", {{"name", "prom-creds"}}}};
  auto spec = parse_prometheus_latency_spec(nlohmann::json{{"prometheus", prometheus}});
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->server_url, "https://thanos.example/prometheus");
  EXPECT_EQ(spec->name, "p99");
  EXPECT_EQ(spec->timeout, 12s);
  EXPECT_EQ(spec->auth_secret_name, "prom-creds");
}

TEST(PrometheusLatencySpecTest, ErrorsNameTheField) {
  auto check = [](const nlohmann::json& spec, const std::string& expected) {
    auto parsed = parse_prometheus_latency_spec(spec);
    ASSERT_FALSE(parsed.ok()) << spec.dump();
    EXPECT_EQ(parsed.error().code, "InvalidSpec");
    EXPECT_THAT(parsed.error().message, HasSubstr(expected)) << spec.dump();
  };
  using nlohmann::json;
  check(json::object(), "spec.latency.prometheus: required");
  check(json{{"prometheus", {{"query", "up"}}}}, "spec.latency.prometheus.serverUrl: required");
  check(spec_for("prometheus:9090"), "serverUrl: must start with http:// or https://");
  check(spec_for("http://admin:hunter2@prometheus:9090"), "serverUrl: must not embed credentials");
  check(spec_for("http://prometheus:9090/?x=1"), "serverUrl: must be a base URL without query");
  check(spec_for("http://:9090"), "serverUrl: has no host");
  check(spec_for("http://p:9090", " "), "spec.latency.prometheus.query: required");
  check(spec_for("http://p:9090", std::string(4097, 'x')), "query: longer than 4096");
  auto with = [](const char* key, json value) {
    json spec = spec_for("http://p:9090");
    spec["prometheus"][key] = std::move(value);
    return spec;
  };
  check(with("name", "9lives"), "spec.latency.prometheus.name: \"9lives\" must be");
  check(with("timeoutSeconds", 0), "timeoutSeconds: must be 1-60, not 0");
  check(with("timeoutSeconds", 61), "timeoutSeconds: must be 1-60, not 61");
  check(with("timeoutSeconds", json::parse("9223372036854775808")),
        "timeoutSeconds: out of range: must be 1-60, not 9223372036854775808");
  check(with("timeoutSeconds", "5"), "timeoutSeconds: must be an integer");
  check(with("authSecretRef", json::object()), "authSecretRef.name: required");
}

TEST(PrometheusLatencySpecTest, SecretsMustHoldOneKindOfCredentials) {
  auto spec = spec_for("http://p:9090");
  spec["prometheus"]["authSecretRef"] = {{"name", "creds"}};
  auto check = [&](const std::map<std::string, std::string>& secret, const std::string& expected) {
    auto source = PrometheusLatencySource::create(spec, secret);
    ASSERT_FALSE(source.ok());
    EXPECT_EQ(source.error().code, "InvalidCredentials");
    EXPECT_THAT(source.error().message, HasSubstr(expected));
    for (const auto& [key, value] : secret)
      EXPECT_THAT(source.error().message, Not(HasSubstr(value)));
  };
  check({{"token", "tok-123"}, {"username", "user-789"}, {"password", "pw-456"}},
        "Secret creds: has both token and username/password");
  check({{"username", "user-789"}}, "password is missing");
  check({}, "has none of the keys token, username/password or ca.crt");
  EXPECT_TRUE(PrometheusLatencySource::create(spec, {{"ca.crt", "-----BEGIN..."}}).ok());
}

TEST(PrometheusLatencySourceTest, PostsTheInstantQueryWithBearerToken) {
  TestHttpServer server([](const HttpRequestRecord&) {
    return HttpReply{200, vector_answer("0.42")};
  });
  auto spec = spec_for(server.url("/prefix/"),
                       "histogram_quantile(0.95, sum(rate(x_bucket{job=\"a+b\"}[1m])) by (le))");
  spec["prometheus"]["authSecretRef"] = {{"name", "creds"}};
  spec["prometheus"]["timeoutSeconds"] = 7;
  auto source = make_source(spec, {{"token", "t0k3n-value"}});
  ASSERT_TRUE(source);
  const WallTime now = WallTime{std::chrono::milliseconds(1'700'000'123'456)};
  auto value = source->query(now);
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 0.42);

  ASSERT_EQ(server.request_count(), 1u);
  auto request = server.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/prefix/api/v1/query");
  EXPECT_EQ(request.headers["authorization"], "Bearer t0k3n-value");
  EXPECT_THAT(request.headers["content-type"], HasSubstr("application/x-www-form-urlencoded"));
  auto fields = form_fields(request.body);
  EXPECT_EQ(fields["query"],
            "histogram_quantile(0.95, sum(rate(x_bucket{job=\"a+b\"}[1m])) by (le))");
  EXPECT_EQ(fields["time"], "1700000123.456");
  EXPECT_EQ(fields["timeout"], "7s");
  EXPECT_THAT(source->describe(), HasSubstr(server.url("/prefix")));
  EXPECT_THAT(source->describe(), HasSubstr("name=latencyP95Seconds"));
  EXPECT_THAT(source->describe(), Not(HasSubstr("t0k3n")));
}

TEST(PrometheusLatencySourceTest, SendsBasicAuth) {
  TestHttpServer server([](const HttpRequestRecord&) {
    return HttpReply{200, vector_answer("1")};
  });
  auto spec = spec_for(server.url());
  spec["prometheus"]["authSecretRef"] = {{"name", "creds"}};
  auto source = make_source(spec, {{"username", "lagpilot"}, {"password", "s3cret"}});
  ASSERT_TRUE(source);
  ASSERT_TRUE(source->query(WallTime{}).ok());
  EXPECT_EQ(server.requests()[0].headers["authorization"], "Basic bGFncGlsb3Q6czNjcmV0");
}

TEST(PrometheusLatencySourceTest, UnusualAnswersAreErrorsNotZeros) {
  std::string answer;
  int status = 200;
  TestHttpServer server([&](const HttpRequestRecord&) { return HttpReply{status, answer}; });
  auto source = make_source(spec_for(server.url()));
  ASSERT_TRUE(source);
  auto expect = [&](int http_status, std::string body, const std::string& code,
                    const std::string& text) {
    status = http_status;
    answer = std::move(body);
    auto result = source->query(WallTime{});
    ASSERT_FALSE(result.ok()) << "got " << *result << " for " << answer;
    EXPECT_EQ(result.error().code, code) << answer;
    EXPECT_THAT(result.error().message, HasSubstr("prometheus " + server.url(""))) << answer;
    EXPECT_THAT(result.error().message, HasSubstr(text)) << answer;
  };
  expect(200, vector_answer("NaN"), "LatencyNoData", "returned NaN");
  expect(200, vector_answer("+Inf"), "LatencyQueryFailed", "returned +Inf");
  expect(200, vector_answer("abc"), "LatencyQueryFailed", "not a number");
  expect(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})", "LatencyNoData",
         "no series");
  expect(200, R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})",
         "LatencyQueryFailed", "a string");
  expect(200, "<html>login</html>", "LatencyQueryFailed", "not Prometheus API JSON");
  expect(401, "Unauthorized", "LatencyQueryFailed", "HTTP 401 (the server wants credentials");
  expect(502, "bad gateway", "LatencyQueryFailed", "HTTP 502: bad gateway");
  expect(
      503,
      R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
      "LatencyQueryFailed", "query failed (HTTP 503 timeout): query timed out");

  status = 200;
  answer = R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"2.5"]}})";
  auto scalar = source->query(WallTime{});
  ASSERT_TRUE(scalar.ok()) << scalar.error().message;
  EXPECT_DOUBLE_EQ(*scalar, 2.5);
}

TEST(PrometheusLatencySourceTest, AServerThatIsDownIsAnError) {
  // A bound socket that never listens: connections are refused, and no other test can take the
  // port meanwhile (a closed server's port can be reused by a test running in parallel).
  const int bound = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(bound, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(bound, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(bound, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  struct CloseOnExit {
    int fd;
    ~CloseOnExit() { ::close(fd); }
  } close_on_exit{bound};
  auto source = make_source(spec_for(url));
  ASSERT_TRUE(source);
  auto result = source->query(WallTime{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("prometheus " + url + ": request failed"));
}

TEST(PrometheusLatencySourceTest, AServerThatNeverAnswersTimesOutWithinTimeoutSeconds) {
  TestHttpServer hung([](const HttpRequestRecord&) { return HttpReply{.hang = true}; });
  auto spec = spec_for(hung.url(""));
  spec["prometheus"]["timeoutSeconds"] = 1;
  auto source = make_source(spec);
  ASSERT_TRUE(source);
  const auto started = std::chrono::steady_clock::now();
  auto result = source->query(WallTime{});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("no answer within 1 s"));
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 4000ms) << "bounded by timeoutSeconds 1, not the default 5 s";
  EXPECT_EQ(hung.request_count(), 1u);
}

// Monitors that query one server share a gate: while it does not answer, one query waits for it
// and the others fail at once (each would otherwise hold an operator worker for timeoutSeconds).
TEST(PrometheusLatencySourceTest, WhileTheServerDoesNotAnswerOneQueryWaitsAndTheOthersFailAtOnce) {
  TestHttpServer server([](const HttpRequestRecord&) { return HttpReply{.hang = true}; });
  auto spec = spec_for(server.url(""));
  spec["prometheus"]["timeoutSeconds"] = 1;
  auto gate = std::make_shared<OutageGate>();
  std::vector<std::unique_ptr<PrometheusLatencySource>> sources;
  for (int i = 0; i < 3; ++i) {
    auto created = PrometheusLatencySource::create(spec, {}, gate);
    ASSERT_TRUE(created.ok()) << created.error().message;
    sources.push_back(std::move(created).value());
  }
  auto first = sources[0]->query(WallTime{});  // finds the server down
  ASSERT_FALSE(first.ok());
  EXPECT_THAT(first.error().message, HasSubstr("no answer within 1 s"));
  ASSERT_EQ(server.request_count(), 1u);

  std::vector<Result<double>> results(sources.size(), Error{});
  std::vector<std::thread> queries;
  for (std::size_t i = 0; i < sources.size(); ++i)
    queries.emplace_back([&, i] { results[i] = sources[i]->query(WallTime{}); });
  for (auto& query : queries) query.join();
  for (const auto& result : results) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "LatencyQueryFailed");
    EXPECT_EQ(result.error().message, first.error().message);  // status is written once
  }
  EXPECT_EQ(server.request_count(), 2u) << "only the probe may reach a server that is down";

  server.set_handler([](const HttpRequestRecord&) {
    return HttpReply{200, vector_answer("0.25")};
  });
  auto recovered = sources[1]->query(WallTime{});
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_DOUBLE_EQ(*recovered, 0.25);
  for (auto& source : sources) {
    auto value = source->query(WallTime{});
    ASSERT_TRUE(value.ok()) << value.error().message;
  }
}

}  // namespace
}  // namespace lagpilot
