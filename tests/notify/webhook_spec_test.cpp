#include "notify/webhook_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lagpilot::notify {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSecretUrl = "https://hooks.example.com/services/T000/B000/s3cr3tt0k3n";

SecretLookup secrets(std::map<SecretKeyRef, std::string> values) {
  return [values = std::move(values)](const SecretKeyRef& ref) -> std::optional<std::string> {
    auto found = values.find(ref);
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
}

TEST(WebhookSpecTest, NoNotificationsMeansNoReceivers) {
  auto parsed = parse_webhooks(nullptr, secrets({}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->receivers.empty());
  EXPECT_TRUE(webhook_secret_refs(nullptr).empty());
  auto empty = parse_webhooks(nlohmann::json::object(), secrets({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->receivers.empty());
}

TEST(WebhookSpecTest, AppliesDefaultsAndReadsTheUrl) {
  auto spec = nlohmann::json::parse(R"({"webhooks": [
      {"name": "oncall", "urlSecretRef": {"name": "oncall-webhook"}},
      {"name": "chat", "urlSecretRef": {"name": "chat", "key": "slack"}, "format": "slack",
       "repeatIntervalSeconds": 600, "sendResolved": false, "minSeverity": "high"}]})");
  EXPECT_EQ(webhook_secret_refs(spec),
            (std::vector<SecretKeyRef>{{"chat", "slack"}, {"oncall-webhook", "url"}}));
  auto parsed = parse_webhooks(spec, secrets({{{"oncall-webhook", "url"}, kSecretUrl + "\n"},
                                              {{"chat", "slack"}, "http://chat.local/hook"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->receivers.size(), 2u);
  EXPECT_TRUE(parsed->errors.empty());
  const auto& oncall = parsed->receivers[0];
  EXPECT_EQ(oncall.name, "oncall");
  EXPECT_EQ(oncall.url, kSecretUrl);  // trailing newline from `echo` trimmed
  EXPECT_EQ(oncall.format, WebhookFormat::kAlertmanager);
  EXPECT_EQ(oncall.repeat_interval, std::chrono::seconds(14400));
  EXPECT_TRUE(oncall.send_resolved);
  EXPECT_EQ(oncall.min_severity, Severity::kInfo);
  const auto& chat = parsed->receivers[1];
  EXPECT_EQ(chat.format, WebhookFormat::kSlack);
  EXPECT_EQ(chat.repeat_interval, std::chrono::seconds(600));
  EXPECT_FALSE(chat.send_resolved);
  EXPECT_EQ(chat.min_severity, Severity::kHigh);
}

TEST(WebhookSpecTest, SpecErrorsNameTheField) {
  auto check = [](const char* json, const std::string& expected) {
    auto parsed = parse_webhooks(nlohmann::json::parse(json), secrets({}));
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.error().code, "InvalidSpec");
    EXPECT_THAT(parsed.error().message, HasSubstr(expected)) << json;
  };
  check(R"({"webhooks": [{"name": "a", "urlSecretRef": {"name": "s"}, "format": "teams"}]})",
        "spec.notifications.webhooks[0].format: must be alertmanager or slack");
  check(R"({"webhooks": [{"name": "a", "urlSecretRef": {"name": "s"},
            "repeatIntervalSeconds": 30}]})",
        "webhooks[0].repeatIntervalSeconds: must be at least 60");
  check(R"({"webhooks": [{"name": "a", "urlSecretRef": {"name": "s"},
            "repeatIntervalSeconds": 18446744073709551615}]})",
        "webhooks[0].repeatIntervalSeconds: out of range: 18446744073709551615 does not fit in a "
        "64-bit integer");
  check(R"({"webhooks": [{"name": "a", "urlSecretRef": {"name": "s"}},
                         {"name": "a", "urlSecretRef": {"name": "t"}}]})",
        "webhooks[1].name: duplicate webhook name");
  check(R"({"webhooks": [{"name": "a"}]})", "webhooks[0].urlSecretRef: required");
  check(R"({"webhooks": [{"name": "9a", "urlSecretRef": {"name": "s"}}]})", "webhooks[0].name");
  check(R"({"webhooks": [{"name": "a", "urlSecretRef": {"name": "s"}, "minSeverity": "warn"}]})",
        "webhooks[0].minSeverity: must be one of critical, high, medium, low, info");
  check(R"({"webhooks": {"name": "a"}})", "spec.notifications.webhooks: must be a list");
}

TEST(WebhookSpecTest, BadSecretsDisableOnlyTheirWebhookAndNeverShowTheUrl) {
  auto spec = nlohmann::json::parse(R"({"webhooks": [
      {"name": "missing", "urlSecretRef": {"name": "nope"}},
      {"name": "notaurl", "urlSecretRef": {"name": "bad"}},
      {"name": "good", "urlSecretRef": {"name": "good"}}]})");
  const std::string not_a_url = "ftp://files.example.com/s3cr3tt0k3n";
  auto parsed =
      parse_webhooks(spec, secrets({{{"bad", "url"}, not_a_url}, {{"good", "url"}, kSecretUrl}}));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->receivers.size(), 1u);
  EXPECT_EQ(parsed->receivers[0].name, "good");
  ASSERT_EQ(parsed->errors.size(), 2u);
  EXPECT_EQ(parsed->errors[0].code, "InvalidCredentials");
  EXPECT_THAT(parsed->errors[0].message,
              HasSubstr("webhooks[missing].urlSecretRef: Secret nope has no key url"));
  EXPECT_THAT(parsed->errors[1].message, HasSubstr("is not an http:// or https:// URL"));
  for (const auto& error : parsed->errors) {
    EXPECT_THAT(error.message, Not(HasSubstr("s3cr3tt0k3n")));
  }
}

}  // namespace
}  // namespace lagpilot::notify
