#include <gtest/gtest.h>

#include "operator/logging.h"
#include "operator/options.h"
#include "operator/probe_server.h"

#include <nlohmann/json.hpp>

namespace lagpilot::operator_main {
namespace {

TEST(RunOptions, ParsesFlagsInBothForms) {
  auto options =
      parse_run_options({"--namespaces", "shop,billing", "--workers=4", "--metrics-status-interval",
                         "2m", "--leader-elect", "--lease-duration=20s", "--log-format", "json"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->namespaces, (std::vector<std::string>{"shop", "billing"}));
  EXPECT_EQ(options->workers, 4);
  EXPECT_EQ(options->metrics_status_interval, std::chrono::seconds(120));
  EXPECT_TRUE(options->leader_elect);
  EXPECT_EQ(options->lease_duration, std::chrono::seconds(20));
  EXPECT_EQ(options->log_format, "json");
}

TEST(RunOptions, BadFlagsNameTheFlag) {
  for (auto [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--workers", "many"}, "--workers"},
           {{"--log-level", "loud"}, "--log-level"},
           {{"--lease-duration", "soon"}, "--lease-duration"},
           {{"--frobnicate"}, "--frobnicate"},
           {{"--kubeconfig"}, "--kubeconfig"},
           {{"--leader-elect", "--lease-duration", "5s", "--renew-deadline", "10s"},
            "--renew-deadline"}}) {
    auto options = parse_run_options(args);
    ASSERT_FALSE(options.ok()) << flag;
    EXPECT_NE(options.error().message.find(flag), std::string::npos) << options.error().message;
  }
}

TEST(RunOptions, DurationsAreCompoundAndWholeSeconds) {
  auto options = parse_run_options({"--lease-duration", "1m30s", "--renew-deadline=1.5m",
                                    "--retry-period", "2000ms", "--health-stall-timeout", "90"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->lease_duration, std::chrono::seconds(90));
  EXPECT_EQ(options->renew_deadline, std::chrono::seconds(90));
  EXPECT_EQ(options->retry_period, std::chrono::seconds(2));
  EXPECT_EQ(options->health_stall_timeout, std::chrono::seconds(90));

  auto fraction = parse_run_options({"--retry-period", "1500ms"});
  ASSERT_FALSE(fraction.ok());
  EXPECT_EQ(fraction.error().message,
            "--retry-period: \"1500ms\" is not a whole number of seconds");
  auto malformed = parse_run_options({"--lease-duration=1m30"});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().message,
            "--lease-duration: \"1m30\" is not a duration (e.g. 20s, 2m, 1m30s)");
}

TEST(RunOptions, CacheSyncTimeoutIsADurationOfAtLeastOneSecond) {
  auto defaults = parse_run_options({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->cache_sync_timeout, std::chrono::seconds(60));
  auto options = parse_run_options({"--cache-sync-timeout", "5m"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->cache_sync_timeout, std::chrono::minutes(5));
  auto zero = parse_run_options({"--cache-sync-timeout=0s"});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "--cache-sync-timeout: must be at least 1s");
}

TEST(RunOptions, CredentialDestinationsAreRepeatableListsOfPatterns) {
  auto none = parse_run_options({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->allowed_credential_destinations.empty()) << "default: anywhere";
  auto options = parse_run_options({"--allowed-credential-destinations",
                                    "kafka/*.kafka.svc:9092,prometheus/prometheus.monitoring",
                                    "--allowed-credential-destinations=127.0.0.1"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->allowed_credential_destinations,
            (std::vector<std::string>{"kafka/*.kafka.svc:9092", "prometheus/prometheus.monitoring",
                                      "127.0.0.1"}));
  auto url = parse_run_options({"--allowed-credential-destinations", "https://prometheus:9090"});
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().message,
            "--allowed-credential-destinations: \"https://prometheus:9090\": a host pattern "
            "([kind/]host[:port]), not a URL");
}

TEST(JsonLogs, LeadingKeyValuesBecomeFields) {
  auto line = nlohmann::json::parse(
      json_log_line("2026-11-22T10:00:00.000Z", "info", "lagpilot",
                    "monitor=shop/orders reconcile=7 scaled 4 -> 9: \"quoted\" \\ text"));
  EXPECT_EQ(line["ts"], "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["monitor"], "shop/orders");
  EXPECT_EQ(line["reconcile_id"], "7");
  EXPECT_EQ(line["msg"], "scaled 4 -> 9: \"quoted\" \\ text");
}

TEST(JsonLogs, ALineInsideATraceCarriesItsId) {
  auto line = nlohmann::json::parse(json_log_line("2026-11-22T10:00:00.000Z", "info", "lagpilot",
                                                  "monitor=shop/orders reconcile=7 scaled",
                                                  "4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(
      nlohmann::json::parse(json_log_line("t", "info", "lagpilot", "x")).contains("trace_id"));
}

TEST(RunOptions, TracingIsOffByDefaultAndTheFlagsAreChecked) {
  auto none = parse_run_options({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->otlp_endpoint, "");
  EXPECT_EQ(none->trace_sampling_ratio, 1.0);
  auto on = parse_run_options(
      {"--otlp-endpoint", "http://jaeger-collector:4318", "--trace-sampling-ratio=0.25"});
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on->otlp_endpoint, "http://jaeger-collector:4318");
  EXPECT_EQ(on->trace_sampling_ratio, 0.25);
  auto host_only = parse_run_options({"--otlp-endpoint", "jaeger:4318"});
  ASSERT_FALSE(host_only.ok());
  EXPECT_EQ(host_only.error().message, "--otlp-endpoint: must be an http:// or https:// URL");
  auto with_password =
      parse_run_options({"--otlp-endpoint", "https://tempo:s3cret@tempo:4318/x@y"});
  ASSERT_FALSE(with_password.ok());
  EXPECT_EQ(with_password.error().message.find("s3cret"), std::string::npos);
  EXPECT_NE(with_password.error().message.find("must not carry credentials"), std::string::npos);
  EXPECT_TRUE(parse_run_options({"--otlp-endpoint", "http://collector:4318/path@v1"}).ok());
  for (const char* bad : {"1.5", "-0.1", "half", ""}) {
    auto ratio = parse_run_options({"--trace-sampling-ratio", bad});
    ASSERT_FALSE(ratio.ok()) << bad;
    EXPECT_EQ(ratio.error().message, "--trace-sampling-ratio: must be a number from 0 to 1");
  }
}

TEST(BindAddress, Parses) {
  EXPECT_EQ(parse_bind_address(":8080"),
            std::make_optional(std::make_pair(std::string("0.0.0.0"), 8080)));
  EXPECT_EQ(parse_bind_address("127.0.0.1:0"),
            std::make_optional(std::make_pair(std::string("127.0.0.1"), 0)));
  EXPECT_FALSE(parse_bind_address("8080").has_value());
  EXPECT_FALSE(parse_bind_address(":http").has_value());
}

}  // namespace
}  // namespace lagpilot::operator_main
