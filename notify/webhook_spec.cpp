#include "notify/webhook_spec.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace lagpilot::notify {
namespace {

constexpr std::size_t kMaxWebhooks = 10;

Error invalid(const std::string& path, const std::string& problem) {
  return Error{"InvalidSpec", path + ": " + problem};
}

bool valid_receiver_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool http_url(const std::string& url) {
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority[0] == ':') return false;
  return std::none_of(url.begin(), url.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
}

std::optional<SecretKeyRef> secret_ref_of(const nlohmann::json& webhook) {
  if (!webhook.is_object()) return std::nullopt;
  auto ref = webhook.find("urlSecretRef");
  if (ref == webhook.end() || !ref->is_object()) return std::nullopt;
  auto name = ref->find("name");
  if (name == ref->end() || !name->is_string() || name->get<std::string>().empty()) {
    return std::nullopt;
  }
  SecretKeyRef out{name->get<std::string>(), "url"};
  if (auto key = ref->find("key");
      key != ref->end() && key->is_string() && !key->get<std::string>().empty()) {
    out.key = key->get<std::string>();
  }
  return out;
}

}  // namespace

std::vector<SecretKeyRef> webhook_secret_refs(const nlohmann::json& notifications_spec) {
  std::set<SecretKeyRef> refs;
  if (notifications_spec.is_object()) {
    auto webhooks = notifications_spec.find("webhooks");
    if (webhooks != notifications_spec.end() && webhooks->is_array()) {
      for (const auto& webhook : *webhooks) {
        if (auto ref = secret_ref_of(webhook)) refs.insert(*ref);
      }
    }
  }
  return {refs.begin(), refs.end()};
}

Result<ParsedWebhooks> parse_webhooks(const nlohmann::json& notifications_spec,
                                      const SecretLookup& secret_value) {
  ParsedWebhooks out;
  if (notifications_spec.is_null()) return out;
  if (!notifications_spec.is_object()) return invalid("spec.notifications", "must be an object");
  auto webhooks = notifications_spec.find("webhooks");
  if (webhooks == notifications_spec.end() || webhooks->is_null()) return out;
  if (!webhooks->is_array()) return invalid("spec.notifications.webhooks", "must be a list");
  if (webhooks->size() > kMaxWebhooks) {
    return invalid("spec.notifications.webhooks", "at most 10 webhooks");
  }

  std::set<std::string> names;
  for (std::size_t i = 0; i < webhooks->size(); ++i) {
    const nlohmann::json& webhook = (*webhooks)[i];
    const std::string path = "spec.notifications.webhooks[" + std::to_string(i) + "]";
    if (!webhook.is_object()) return invalid(path, "must be an object");

    WebhookReceiver receiver;
    auto name = webhook.find("name");
    if (name == webhook.end() || !name->is_string()) return invalid(path + ".name", "required");
    receiver.name = name->get<std::string>();
    if (!valid_receiver_name(receiver.name)) {
      return invalid(path + ".name", "\"" + receiver.name +
                                         "\" must be letters, digits, '_' and '-', starting "
                                         "with a letter, at most 63 characters");
    }
    if (!names.insert(receiver.name).second) {
      return invalid(path + ".name", "duplicate webhook name \"" + receiver.name + "\"");
    }

    auto ref_json = webhook.find("urlSecretRef");
    if (ref_json == webhook.end() || !ref_json->is_object()) {
      return invalid(path + ".urlSecretRef", "required (an object with name and key)");
    }
    auto ref = secret_ref_of(webhook);
    if (!ref) return invalid(path + ".urlSecretRef.name", "required");
    if (auto key = ref_json->find("key");
        key != ref_json->end() && !key->is_null() && !key->is_string()) {
      return invalid(path + ".urlSecretRef.key", "must be a string");
    }

    if (auto format = webhook.find("format"); format != webhook.end() && !format->is_null()) {
      const std::string text = format->is_string() ? format->get<std::string>() : format->dump();
      if (text == "alertmanager") {
        receiver.format = WebhookFormat::kAlertmanager;
      } else if (text == "slack") {
        receiver.format = WebhookFormat::kSlack;
      } else {
        return invalid(path + ".format", "must be alertmanager or slack, not " + text);
      }
    }
    if (auto repeat = webhook.find("repeatIntervalSeconds");
        repeat != webhook.end() && !repeat->is_null()) {
      if (!repeat->is_number_integer()) {
        return invalid(path + ".repeatIntervalSeconds", "must be an integer");
      }
      const auto seconds = repeat->get<int64_t>();
      if (seconds < 60) {
        return invalid(path + ".repeatIntervalSeconds",
                       "must be at least 60, not " + std::to_string(seconds));
      }
      receiver.repeat_interval = std::chrono::seconds(seconds);
    }
    if (auto resolved = webhook.find("sendResolved");
        resolved != webhook.end() && !resolved->is_null()) {
      if (!resolved->is_boolean()) return invalid(path + ".sendResolved", "must be true or false");
      receiver.send_resolved = resolved->get<bool>();
    }
    if (auto severity = webhook.find("minSeverity");
        severity != webhook.end() && !severity->is_null()) {
      const std::string text =
          severity->is_string() ? severity->get<std::string>() : severity->dump();
      auto parsed = parse_severity(text);
      if (!parsed) {
        return invalid(path + ".minSeverity",
                       "must be one of critical, high, medium, low, info, not " + text);
      }
      receiver.min_severity = *parsed;
    }

    const std::string where =
        "spec.notifications.webhooks[" + receiver.name + "].urlSecretRef: Secret " + ref->name;
    std::optional<std::string> url = secret_value ? secret_value(*ref) : std::nullopt;
    if (!url) {
      out.errors.push_back(Error{"InvalidCredentials", where + " has no key " + ref->key});
      continue;
    }
    receiver.url = trim(*url);
    if (!http_url(receiver.url)) {
      out.errors.push_back(Error{"InvalidCredentials", where + ": the value of key " + ref->key +
                                                           " is not an http:// or https:// URL"});
      continue;
    }
    out.receivers.push_back(std::move(receiver));
  }
  return out;
}

}  // namespace lagpilot::notify
