#include "notify/webhook_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>

#include "util/json_integer.h"

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

std::string base64(const std::string& text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(text[i]) << 16) |
                       (static_cast<unsigned char>(text[i + 1]) << 8) |
                       static_cast<unsigned char>(text[i + 2]);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  if (i + 1 == text.size()) {
    const unsigned n = static_cast<unsigned char>(text[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == text.size()) {
    const unsigned n = (static_cast<unsigned char>(text[i]) << 16) |
                       (static_cast<unsigned char>(text[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

// {name, key?} at webhook[field]; nullopt when absent or malformed.
std::optional<SecretKeyRef> named_secret_ref(const nlohmann::json& item, const char* field,
                                             const char* default_key) {
  if (!item.is_object()) return std::nullopt;
  auto ref = item.find(field);
  if (ref == item.end() || !ref->is_object()) return std::nullopt;
  auto name = ref->find("name");
  if (name == ref->end() || !name->is_string() || name->get<std::string>().empty()) {
    return std::nullopt;
  }
  SecretKeyRef out{name->get<std::string>(), default_key};
  if (auto key = ref->find("key");
      key != ref->end() && key->is_string() && !key->get<std::string>().empty()) {
    out.key = key->get<std::string>();
  }
  return out;
}

const nlohmann::json* list_at(const nlohmann::json& spec, const char* field) {
  if (!spec.is_object()) return nullptr;
  auto list = spec.find(field);
  return list != spec.end() && list->is_array() ? &*list : nullptr;
}

// minSeverity of `item` (default info).
Result<Severity> min_severity_of(const nlohmann::json& item, const std::string& path) {
  auto severity = item.find("minSeverity");
  if (severity == item.end() || severity->is_null()) return Severity::kInfo;
  const std::string text = severity->is_string() ? severity->get<std::string>() : severity->dump();
  auto parsed = parse_severity(text);
  if (!parsed) {
    return invalid(path + ".minSeverity",
                   "must be one of critical, high, medium, low, info, not " + text);
  }
  return *parsed;
}

// An integer field in [min, max], or `fallback` when absent.
Result<int64_t> seconds_of(const nlohmann::json& item, const std::string& path, const char* field,
                           int64_t fallback, int64_t min, int64_t max) {
  auto value = item.find(field);
  if (value == item.end() || value->is_null()) return fallback;
  const auto seconds = json_int64(*value);
  if (!seconds && seconds.error() == JsonIntegerProblem::kNotAnInteger) {
    return invalid(path + "." + field, "must be an integer");
  }
  if (!seconds || *seconds < min || *seconds > max) {
    return invalid(path + "." + field, std::string(seconds ? "" : "out of range: ") +
                                           "must be between " + std::to_string(min) + " and " +
                                           std::to_string(max) + ", not " + value->dump());
  }
  return *seconds;
}

// monitorURL: an http(s) URL template, or "".
Result<std::string> monitor_url_of(const nlohmann::json& item, const std::string& path) {
  auto url = item.find("monitorURL");
  if (url == item.end() || url->is_null()) return std::string();
  if (!url->is_string() || !http_url(url->get<std::string>())) {
    return invalid(path + ".monitorURL",
                   "must be an http:// or https:// URL (with {namespace} and {name})");
  }
  return url->get<std::string>();
}

Result<std::string> receiver_name_of(const nlohmann::json& item, const std::string& path,
                                     std::set<std::string>& names) {
  auto name = item.find("name");
  if (name == item.end() || !name->is_string()) return invalid(path + ".name", "required");
  const std::string text = name->get<std::string>();
  if (!valid_receiver_name(text)) {
    return invalid(path + ".name", "\"" + text +
                                       "\" must be letters, digits, '_' and '-', starting "
                                       "with a letter, at most 63 characters");
  }
  if (!names.insert(text).second) {
    return invalid(path + ".name", "duplicate notification receiver name \"" + text + "\"");
  }
  return text;
}

// The Authorization header and CA of authSecretRef's Secret (keys token, or username and
// password, and/or ca.crt). nullopt with `problem` set when the Secret is unusable.
std::optional<HttpCredentials> http_credentials(const SecretKeyRef& ref, const std::string& where,
                                                const SecretLookup& secret_value,
                                                std::string& problem) {
  auto value_of = [&](const char* key) {
    auto value = secret_value ? secret_value(SecretKeyRef{ref.name, key}) : std::nullopt;
    return value ? *value : std::string();
  };
  const std::string token = trim(value_of("token"));
  const std::string username = value_of("username");
  const std::string password = value_of("password");
  HttpCredentials credentials;
  credentials.ca_pem = value_of("ca.crt");
  if (!token.empty() && (!username.empty() || !password.empty())) {
    problem = where + " has both token and username/password; keep one of them";
    return std::nullopt;
  }
  if (username.empty() != password.empty()) {
    problem = where + ": username and password go together; " +
              (username.empty() ? "username" : "password") + " is missing";
    return std::nullopt;
  }
  if (token.empty() && username.empty() && credentials.ca_pem.empty()) {
    problem = where + " has none of the keys token, username/password or ca.crt";
    return std::nullopt;
  }
  if (token.find_first_of("\r\n") != std::string::npos ||
      username.find_first_of("\r\n:") != std::string::npos ||
      password.find_first_of("\r\n") != std::string::npos) {
    problem = where + ": token, username and password must be single lines (username without ':')";
    return std::nullopt;
  }
  if (!token.empty()) {
    credentials.authorization = "Bearer " + token;
  } else if (!username.empty()) {
    credentials.authorization = "Basic " + base64(username + ":" + password);
  }
  return credentials;
}

Result<AlertmanagerTarget> parse_alertmanager(const nlohmann::json& item, const std::string& path,
                                              std::set<std::string>& names) {
  if (!item.is_object()) return invalid(path, "must be an object");
  AlertmanagerTarget target;
  auto name = receiver_name_of(item, path, names);
  if (!name) return name.error();
  target.name = *name;
  auto urls = item.find("urls");
  if (urls == item.end() || !urls->is_array() || urls->empty() || urls->size() > 5) {
    return invalid(path + ".urls", "required: 1 to 5 Alertmanager URLs");
  }
  std::set<std::string> seen;
  for (std::size_t u = 0; u < urls->size(); ++u) {
    const auto& url = (*urls)[u];
    const std::string url_path = path + ".urls[" + std::to_string(u) + "]";
    if (!url.is_string() || !http_url(trim(url.get<std::string>()))) {
      return invalid(url_path, "must be an http:// or https:// URL, e.g. http://alertmanager:9093");
    }
    const std::string text = trim(url.get<std::string>());
    const std::string rest = text.substr(text.find("://") + 3);
    if (rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string::npos) {
      // URLs in the spec are logged; credentials belong in authSecretRef.
      return invalid(url_path, "must not carry credentials (user@host): use authSecretRef");
    }
    if (!seen.insert(text).second) return invalid(url_path, "duplicate URL " + text);
    target.urls.push_back(text);
  }
  auto resend = seconds_of(item, path, "resendIntervalSeconds", 60, 10, 3600);
  if (!resend) return resend.error();
  target.resend_interval = std::chrono::seconds(*resend);
  auto severity = min_severity_of(item, path);
  if (!severity) return severity.error();
  target.min_severity = *severity;
  auto monitor_url = monitor_url_of(item, path);
  if (!monitor_url) return monitor_url.error();
  target.monitor_url = *monitor_url;
  if (auto ref = item.find("authSecretRef"); ref != item.end() && !ref->is_null()) {
    if (!named_secret_ref(item, "authSecretRef", "")) {
      return invalid(path + ".authSecretRef", "must be an object with a name");
    }
  }
  return target;
}

Result<PagerDutyTarget> parse_pagerduty(const nlohmann::json& item, const std::string& path,
                                        std::set<std::string>& names) {
  if (!item.is_object()) return invalid(path, "must be an object");
  PagerDutyTarget target;
  auto name = receiver_name_of(item, path, names);
  if (!name) return name.error();
  target.name = *name;
  if (!named_secret_ref(item, "routingKeySecretRef", "routingKey")) {
    return invalid(path + ".routingKeySecretRef", "required (an object with name and key)");
  }
  if (auto url = item.find("url"); url != item.end() && !url->is_null()) {
    if (!url->is_string() || !http_url(trim(url->get<std::string>()))) {
      return invalid(path + ".url", "must be an http:// or https:// URL");
    }
    target.url = trim(url->get<std::string>());
  }
  if (auto resolved = item.find("sendResolved"); resolved != item.end() && !resolved->is_null()) {
    if (!resolved->is_boolean()) return invalid(path + ".sendResolved", "must be true or false");
    target.send_resolved = resolved->get<bool>();
  }
  auto repeat = seconds_of(item, path, "repeatIntervalSeconds", 14400, 60, 604800);
  if (!repeat) return repeat.error();
  target.repeat_interval = std::chrono::seconds(*repeat);
  auto severity = min_severity_of(item, path);
  if (!severity) return severity.error();
  target.min_severity = *severity;
  auto monitor_url = monitor_url_of(item, path);
  if (!monitor_url) return monitor_url.error();
  target.monitor_url = *monitor_url;
  return target;
}

}  // namespace

std::vector<std::string> notification_secret_names(const nlohmann::json& notifications_spec) {
  std::set<std::string> names;
  for (const auto& ref : webhook_secret_refs(notifications_spec)) names.insert(ref.name);
  if (const auto* list = list_at(notifications_spec, "alertmanagers")) {
    for (const auto& item : *list) {
      if (auto ref = named_secret_ref(item, "authSecretRef", "")) names.insert(ref->name);
    }
  }
  if (const auto* list = list_at(notifications_spec, "pagerduty")) {
    for (const auto& item : *list) {
      if (auto ref = named_secret_ref(item, "routingKeySecretRef", "routingKey")) {
        names.insert(ref->name);
      }
    }
  }
  return {names.begin(), names.end()};
}

std::map<std::string, std::vector<std::pair<std::string, std::string>>>
notification_secret_destinations(const nlohmann::json& notifications_spec) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
  if (const auto* list = list_at(notifications_spec, "alertmanagers")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& item = (*list)[i];
      auto ref = named_secret_ref(item, "authSecretRef", "");
      auto urls = item.is_object() ? item.find("urls") : item.end();
      if (!ref || urls == item.end() || !urls->is_array()) continue;
      for (std::size_t u = 0; u < urls->size(); ++u) {
        if (!(*urls)[u].is_string()) continue;
        out[ref->name].emplace_back("spec.notifications.alertmanagers[" + std::to_string(i) +
                                        "].urls[" + std::to_string(u) + "]",
                                    trim((*urls)[u].get<std::string>()));
      }
    }
  }
  if (const auto* list = list_at(notifications_spec, "pagerduty")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& item = (*list)[i];
      auto ref = named_secret_ref(item, "routingKeySecretRef", "routingKey");
      if (!ref) continue;
      std::string url = PagerDutyTarget{}.url;
      if (auto given = item.find("url"); given != item.end() && given->is_string()) {
        url = trim(given->get<std::string>());
      }
      out[ref->name].emplace_back("spec.notifications.pagerduty[" + std::to_string(i) + "].url",
                                  url);
    }
  }
  return out;
}

Result<ParsedReceivers> parse_notifications(const nlohmann::json& notifications_spec,
                                            const SecretLookup& secret_value) {
  auto webhooks = parse_webhooks(notifications_spec, secret_value);
  if (!webhooks) return webhooks.error();
  ParsedReceivers out;
  out.receivers.webhooks = std::move(webhooks->receivers);
  out.errors = std::move(webhooks->errors);
  if (notifications_spec.is_null()) return out;
  std::set<std::string> names;
  if (const auto* list = list_at(notifications_spec, "webhooks")) {
    for (const auto& item : *list) names.insert(item.value("name", std::string()));
  }
  for (const char* field : {"alertmanagers", "pagerduty"}) {
    auto list = notifications_spec.find(field);
    if (list == notifications_spec.end() || list->is_null()) continue;
    if (!list->is_array())
      return invalid(std::string("spec.notifications.") + field, "must be a list");
    if (list->size() > kMaxWebhooks) {
      return invalid(std::string("spec.notifications.") + field, "at most 10 receivers");
    }
  }
  if (const auto* list = list_at(notifications_spec, "alertmanagers")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = "spec.notifications.alertmanagers[" + std::to_string(i) + "]";
      auto target = parse_alertmanager((*list)[i], path, names);
      if (!target) return target.error();
      if (auto ref = named_secret_ref((*list)[i], "authSecretRef", "")) {
        const std::string where = "spec.notifications.alertmanagers[" + target->name +
                                  "].authSecretRef: Secret " + ref->name;
        std::string problem;
        auto credentials = http_credentials(*ref, where, secret_value, problem);
        if (!credentials) {
          out.errors.push_back(Error{"InvalidCredentials", problem});
          continue;
        }
        target->credentials = std::move(*credentials);
      }
      out.receivers.alertmanagers.push_back(std::move(*target));
    }
  }
  if (const auto* list = list_at(notifications_spec, "pagerduty")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = "spec.notifications.pagerduty[" + std::to_string(i) + "]";
      auto target = parse_pagerduty((*list)[i], path, names);
      if (!target) return target.error();
      const SecretKeyRef ref = *named_secret_ref((*list)[i], "routingKeySecretRef", "routingKey");
      const std::string where = "spec.notifications.pagerduty[" + target->name +
                                "].routingKeySecretRef: Secret " + ref.name;
      auto key = secret_value ? secret_value(ref) : std::nullopt;
      const std::string routing_key = key ? trim(*key) : std::string();
      if (routing_key.empty()) {
        out.errors.push_back(Error{"InvalidCredentials", where + " has no key " + ref.key});
        continue;
      }
      if (routing_key.size() > 255 ||
          std::any_of(routing_key.begin(), routing_key.end(),
                      [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); })) {
        out.errors.push_back(Error{"InvalidCredentials",
                                   where + ": the value of key " + ref.key +
                                       " is not a routing key (one line, at most 255 characters)"});
        continue;
      }
      target->routing_key = routing_key;
      out.receivers.pagerduty.push_back(std::move(*target));
    }
  }
  return out;
}

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
      const auto seconds = json_int64(*repeat);
      if (!seconds && seconds.error() == JsonIntegerProblem::kNotAnInteger) {
        return invalid(path + ".repeatIntervalSeconds", "must be an integer");
      }
      if (!seconds) {
        return invalid(path + ".repeatIntervalSeconds",
                       "out of range: " + repeat->dump() + " does not fit in a 64-bit integer");
      }
      if (*seconds < 60) {
        return invalid(path + ".repeatIntervalSeconds",
                       "must be at least 60, not " + std::to_string(*seconds));
      }
      receiver.repeat_interval = std::chrono::seconds(*seconds);
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
