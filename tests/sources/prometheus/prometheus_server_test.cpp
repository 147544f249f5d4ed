// PrometheusLatencySource against Debian's real Prometheus server on loopback, scraping a
// prometheus-cpp exporter in this process whose histogram the tests fill with known latencies.
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "sources/prometheus/prometheus_latency.h"
#include "tests/sources/prometheus/prometheus_fixture.h"

namespace lagpilot {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kScrapeWait = 20s;  // bound for waiting on scrapes; normally 1-3 s

std::unique_ptr<PrometheusLatencySource> source_for(
    const std::string& url, const std::string& query,
    const std::map<std::string, std::string>& secret = {}, bool with_auth_ref = false) {
  nlohmann::json spec{
      {"prometheus", {{"serverUrl", url}, {"query", query}, {"timeoutSeconds", 5}}}};
  if (with_auth_ref) spec["prometheus"]["authSecretRef"] = {{"name", "prometheus-creds"}};
  auto created = PrometheusLatencySource::create(spec, secret);
  if (!created.ok()) throw std::runtime_error(created.error().message);
  return std::move(created).value();
}

WallTime now() { return std::chrono::system_clock::now(); }

// Polls until the query succeeds and `accept` agrees; the last result otherwise. Scrapes are
// asynchronous, so waiting is unavoidable; it is bounded.
Result<double> poll_until(
    PrometheusLatencySource& source,
    const std::function<bool(double)>& accept = [](double) { return true; }) {
  const auto deadline = std::chrono::steady_clock::now() + kScrapeWait;
  Result<double> result = source.query(now());
  while (!(result.ok() && accept(*result)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    result = source.query(now());
  }
  return result;
}

class PrometheusLatencyTest : public ::testing::Test {
 protected:
  static constexpr const char* kHistogram = "lagpilot_test_processing_seconds";
  static inline const std::vector<double> kBuckets = {0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5};

  static void SetUpTestSuite() {
    exposer_ = std::make_unique<prometheus::Exposer>("127.0.0.1:0");
    registry_ = std::make_shared<prometheus::Registry>();
    auto& family = prometheus::BuildHistogram()
                       .Name(kHistogram)
                       .Help("Processing time of one message, seconds")
                       .Register(*registry_);
    histogram_ = &family.Add({{"consumer", "orders"}}, kBuckets);
    auto& idle = prometheus::BuildHistogram()
                     .Name("lagpilot_test_idle_seconds")
                     .Help("A histogram that never observes anything")
                     .Register(*registry_);
    idle.Add({}, kBuckets);
    exposer_->RegisterCollectable(registry_);
    const int port = exposer_->GetListeningPorts().at(0);
    prometheus_ = std::make_unique<testkit::PrometheusServer>(
        std::vector<std::string>{"127.0.0.1:" + std::to_string(port)});
  }

  static void TearDownTestSuite() {
    prometheus_.reset();
    exposer_.reset();
    registry_.reset();
    histogram_ = nullptr;
  }

  static std::unique_ptr<PrometheusLatencySource> source(const std::string& query) {
    return source_for(prometheus_->url(), query);
  }

  static inline std::unique_ptr<prometheus::Exposer> exposer_;
  static inline std::shared_ptr<prometheus::Registry> registry_;
  static inline prometheus::Histogram* histogram_ = nullptr;
  static inline std::unique_ptr<testkit::PrometheusServer> prometheus_;
};

TEST_F(PrometheusLatencyTest, ReportsTheP95OfKnownLatenciesWithinTheBucketWidth) {
  // The empty histogram has been scraped once: rate() will see the observations as an increase.
  auto count = source(std::string("sum(") + kHistogram + "_count)");
  auto before = poll_until(*count);
  ASSERT_TRUE(before.ok()) << before.error().message;
  ASSERT_EQ(*before, 0.0);

  // 200 messages, 5 ms to 1 s evenly: the true p95 is 0.95 s.
  std::vector<double> latencies;
  for (int i = 0; i < 200; ++i) latencies.push_back((i + 1) / 200.0);
  for (double latency : latencies) histogram_->Observe(latency);
  std::sort(latencies.begin(), latencies.end());
  const double true_p95 =
      latencies[static_cast<std::size_t>(std::ceil(0.95 * latencies.size())) - 1];
  ASSERT_DOUBLE_EQ(true_p95, 0.95);

  // Wait for a scrape that has all of them, then ask what lagpilot would.
  const auto observed = static_cast<double>(latencies.size());
  auto after = poll_until(*count, [&](double value) { return value == observed; });
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(*after, observed) << "observations were not scraped";

  auto p95 = source(std::string("histogram_quantile(0.95, sum(rate(") + kHistogram +
                    "_bucket[1m])) by (le))");
  auto value = poll_until(*p95);
  ASSERT_TRUE(value.ok()) << value.error().code << ": " << value.error().message;
  // The quantile falls in the (0.75, 1.0] bucket: histogram_quantile interpolates within it.
  const double bucket_width = 1.0 - 0.75;
  EXPECT_NEAR(*value, true_p95, bucket_width);
  // Linear interpolation: 0.75 + 0.25 * (190 - 150) / (200 - 150) = 0.95.
  EXPECT_NEAR(*value, 0.95, 1e-6);
}

TEST_F(PrometheusLatencyTest, ScalarsAndSingleSeriesVectorsAreValues) {
  auto vector = source("vector(0.25)");
  auto value = vector->query(now());
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 0.25);
  auto scalar = source("0.5 * 3");
  value = scalar->query(now());
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 1.5);
}

TEST_F(PrometheusLatencyTest, NoSampleIsNoDataNotZero) {
  auto missing = source("histogram_quantile(0.95, sum(rate(no_such_metric_bucket[1m])) by (le))");
  auto result = missing->query(now());
  ASSERT_FALSE(result.ok()) << "got " << *result;
  EXPECT_EQ(result.error().code, "LatencyNoData");
  EXPECT_THAT(result.error().message,
              HasSubstr("prometheus " + prometheus_->url() + ": query returned no series"));
}

TEST_F(PrometheusLatencyTest, NaNIsNoDataNotZero) {
  auto nan = source("vector(NaN)");
  auto result = nan->query(now());
  ASSERT_FALSE(result.ok()) << "got " << *result;
  EXPECT_EQ(result.error().code, "LatencyNoData");
  EXPECT_THAT(result.error().message, HasSubstr("returned NaN"));

  // What an idle consumer really looks like: a histogram without observations.
  auto idle_count = source("count(lagpilot_test_idle_seconds_bucket)");
  ASSERT_TRUE(poll_until(*idle_count).ok());
  auto idle =
      source("histogram_quantile(0.95, sum(rate(lagpilot_test_idle_seconds_bucket[1m])) by (le))");
  result = idle->query(now());
  ASSERT_FALSE(result.ok()) << "got " << *result;
  EXPECT_EQ(result.error().code, "LatencyNoData");
}

TEST_F(PrometheusLatencyTest, SeveralSeriesAreAnError) {
  auto buckets = source(std::string(kHistogram) + "_bucket");
  auto result = buckets->query(now());
  const auto deadline = std::chrono::steady_clock::now() + kScrapeWait;
  while (!result.ok() && result.error().code == "LatencyNoData" &&
         std::chrono::steady_clock::now() < deadline) {  // until the first scrape
    std::this_thread::sleep_for(200ms);
    result = buckets->query(now());
  }
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("query returned 8 series, expected one"));
}

TEST_F(PrometheusLatencyTest, ARangeVectorIsAnError) {
  auto range = source("vector(1)[1m:10s]");
  auto result = range->query(now());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("range vector"));
}

TEST_F(PrometheusLatencyTest, ASyntaxErrorIsNamed) {
  auto broken = source("histogram_quantile(0.95, sum(rate(x_bucket[1m])) by (le)");
  auto result = broken->query(now());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message,
              HasSubstr("prometheus " + prometheus_->url() + ": query failed (HTTP 400 bad_data)"));
  EXPECT_THAT(result.error().message, HasSubstr("parse error"));
}

TEST(PrometheusServerGoneTest, AStoppedServerIsAnError) {
  testkit::PrometheusServer prometheus({});
  auto source = source_for(prometheus.url(), "vector(1)");
  ASSERT_TRUE(source->query(now()).ok());
  prometheus.stop();
  auto result = source->query(now());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message,
              HasSubstr("prometheus " + prometheus.url() + ": request failed"));
}

// HTTPS with a private CA and basic auth, as Prometheus' --web.config.file serves them.
class PrometheusTlsTest : public ::testing::Test {
 protected:
  // bcrypt of kPassword (crypt(3), cost 5), for basic_auth_users.
  static constexpr const char* kPassword = "lagpilot-test-password";
  static constexpr const char* kPasswordHash =
      "$2b$05$abcdefghijklmnopqrstuuHl.8y0uCKlzOUDuT4sF6iuAWRAE.A.G";

  static void SetUpTestSuite() {
    char dir_template[] = "/tmp/lagpilot-tls-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir_template));
    certs_ = dir_template;
    const std::string dir = certs_.string();
    std::ofstream(certs_ / "san.ext") << "subjectAltName=IP:127.0.0.1\n";
    const std::string script =
        "cd " + dir + " && " +
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj '/CN=lagpilot test CA' -keyout ca.key -out ca.crt && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj '/CN=127.0.0.1' -keyout server.key -out server.csr && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.crt";
    ASSERT_EQ(std::system(("(" + script + ") >openssl.log 2>&1").c_str()), 0)
        << "openssl failed, see " << dir << "/openssl.log";
    std::ifstream ca(certs_ / "ca.crt");
    ca_pem_.assign(std::istreambuf_iterator<char>(ca), {});
    const std::string web_config =
        "tls_server_config:\n  cert_file: " + dir + "/server.crt\n  key_file: " + dir +
        "/server.key\nbasic_auth_users:\n  lagpilot: " + kPasswordHash + "\n";
    prometheus_ = std::make_unique<testkit::PrometheusServer>(
        std::vector<std::string>{}, web_config, [](const std::string& url) {
          return source_for(url, "vector(1)", good_secret(), true)->query(now()).ok();
        });
  }

  static void TearDownTestSuite() {
    prometheus_.reset();
    std::filesystem::remove_all(certs_);
  }

  static std::map<std::string, std::string> good_secret() {
    return {{"username", "lagpilot"}, {"password", kPassword}, {"ca.crt", ca_pem_}};
  }

  static inline std::filesystem::path certs_;
  static inline std::string ca_pem_;
  static inline std::unique_ptr<testkit::PrometheusServer> prometheus_;
};

TEST_F(PrometheusTlsTest, VerifiesTheServerAgainstCaCrtAndSendsBasicAuth) {
  ASSERT_THAT(prometheus_->url(), HasSubstr("https://"));
  auto source = source_for(prometheus_->url(), "vector(0.125)", good_secret(), true);
  auto value = source->query(now());
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 0.125);
}

TEST_F(PrometheusTlsTest, AWrongPasswordIsAnAuthError) {
  auto secret = good_secret();
  secret["password"] = "wrong-password";
  auto source = source_for(prometheus_->url(), "vector(1)", secret, true);
  auto result = source->query(now());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("HTTP 401"));
  EXPECT_THAT(result.error().message,
              HasSubstr("check the credentials in Secret prometheus-creds"));
  EXPECT_THAT(result.error().message, ::testing::Not(HasSubstr("wrong-password")));
}

TEST_F(PrometheusTlsTest, AnUntrustedCertificateIsRefused) {
  auto secret = good_secret();
  secret.erase("ca.crt");  // system roots only: the private CA is unknown
  auto source = source_for(prometheus_->url(), "vector(1)", secret, true);
  auto result = source->query(now());
  ASSERT_FALSE(result.ok()) << "TLS was not verified";
  EXPECT_EQ(result.error().code, "LatencyQueryFailed");
  EXPECT_THAT(result.error().message, HasSubstr("(TLS: is the server certificate signed"));
}

}  // namespace
}  // namespace lagpilot
