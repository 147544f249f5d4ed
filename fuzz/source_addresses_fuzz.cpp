// Addresses in a spec: Kafka's bootstrapServers (KafkaConnectionSettings::from, with the auth
// Secret's keys) and the Prometheus server URL (check_prometheus_server_url), plus the kinds'
// spec parsers when the input is JSON. The first line is the address; the other lines are Secret
// entries "key=value". Invariants: errors are values naming the field or Secret key; accepted
// bootstrap servers are sorted, deduplicated and trimmed host:port entries (no scheme, a port of
// 1-5 digits), and normalizing them again changes nothing; an accepted URL is http(s), without
// trailing '/', whitespace, credentials, query or fragment, and checking it again returns it
// unchanged.
#include <nlohmann/json.hpp>
#include <sstream>

#include "fuzz/fuzz_check.h"
#include "sources/kafka/kafka_client.h"
#include "sources/kafka/kafka_source.h"
#include "sources/prometheus/prometheus_latency.h"
#include "sources/prometheus/prometheus_query_client.h"
#include "sources/prometheus/prometheus_queue_source.h"

namespace {

using lagpilot::fuzz::names;
using Json = nlohmann::json;

void check_bootstrap(const std::string& servers, const lagpilot::SourceCredentials& credentials) {
  const auto settings = lagpilot::KafkaConnectionSettings::from(servers, credentials);
  if (!settings) {
    const auto& error = settings.error();
    FUZZ_CHECK(names(error, "InvalidSpec", "spec.source.kafka.bootstrapServers") ||
                   names(error, "InvalidCredentials", "secret key "),
               error.message);
    // Messages name keys, never values: a password with lowercase letters and digits (words the
    // messages do not hold) must not appear.
    if (auto password = credentials.find("sasl.password"); password != credentials.end()) {
      const std::string& value = password->second;
      const bool distinctive = value.size() >= 8 &&
                               value.find_first_of("abcdefghijklmnopqrstuvwxyz") != value.npos &&
                               value.find_first_of("0123456789") != value.npos;
      // A password that the addresses themselves contain is the spec's text, not the Secret's.
      if (distinctive && servers.find(value) == std::string::npos) {
        FUZZ_CHECK(error.message.find(value) == std::string::npos, "a Secret value in an error");
      }
    }
    return;
  }
  const std::string& normalized = settings->bootstrap_servers;
  FUZZ_CHECK(!normalized.empty() && !normalized.starts_with(",") && !normalized.ends_with(","),
             normalized);
  FUZZ_CHECK(normalized.find(",,") == std::string::npos, normalized);
  std::stringstream items(normalized);
  std::string previous;
  for (std::string item; std::getline(items, item, ',');) {
    FUZZ_CHECK(previous.empty() || previous < item, previous + " then " + item);
    FUZZ_CHECK(item.find("://") == std::string::npos, item);
    const auto port = item.substr(item.rfind(':') + 1);
    FUZZ_CHECK(item.rfind(':') != std::string::npos && !port.empty() && port.size() <= 5 &&
                   port.find_first_not_of("0123456789") == std::string::npos,
               item);
    previous = item;
  }
  const auto again = lagpilot::KafkaConnectionSettings::from(normalized, credentials);
  FUZZ_CHECK(again.ok() && *again == *settings, normalized);
  // The password must not reach describe(); a password that is also a substring of what describe()
  // says without it (e.g. "-256" in a bootstrap "sha-256") is not a leak.
  auto without_password = *settings;
  without_password.sasl_password.clear();
  const std::string& password = settings->sasl_password;
  FUZZ_CHECK(password.empty() || settings->describe().find(password) == std::string::npos ||
                 without_password.describe().find(password) != std::string::npos,
             "the password in describe()");
}

void check_url(const std::string& url) {
  const std::string field = "spec.source.prometheus.serverUrl";
  const auto checked = lagpilot::check_prometheus_server_url(url, field);
  if (!checked) {
    FUZZ_CHECK(names(checked.error(), "InvalidSpec", field + ": "), checked.error().message);
    return;
  }
  const std::string& accepted = *checked;
  FUZZ_CHECK(accepted.starts_with("http://") || accepted.starts_with("https://"), accepted);
  FUZZ_CHECK(!accepted.ends_with("/"), accepted);
  FUZZ_CHECK(accepted.find_first_of(" \t\r\n\v\f?#") == std::string::npos, accepted);
  const std::string rest = accepted.substr(accepted.find("//") + 2);
  FUZZ_CHECK(rest.substr(0, rest.find('/')).find('@') == std::string::npos, accepted);
  const auto again = lagpilot::check_prometheus_server_url(accepted, field);
  FUZZ_CHECK(again.ok() && *again == accepted, accepted);
}

void check_kind_specs(const Json& spec) {
  if (auto kafka = lagpilot::KafkaSourceSpec::parse(spec); !kafka) {
    FUZZ_CHECK(names(kafka.error(), "InvalidSpec", "spec.source.kafka"), kafka.error().message);
  }
  if (auto queue = lagpilot::PrometheusQueueSpec::parse(spec); !queue) {
    FUZZ_CHECK(names(queue.error(), "InvalidSpec", "spec.source.prometheus"),
               queue.error().message);
  } else {
    check_url(queue->server_url);
  }
  if (auto latency = lagpilot::parse_prometheus_latency_spec(spec); !latency) {
    FUZZ_CHECK(names(latency.error(), "InvalidSpec", "spec.latency"), latency.error().message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(lagpilot::fuzz::text_of(data, size));
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) check_kind_specs(json);

  std::stringstream lines(text);
  std::string address;
  std::getline(lines, address);
  lagpilot::SourceCredentials credentials;
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) credentials[line.substr(0, equals)] = line.substr(equals + 1);
  }
  check_bootstrap(address, credentials);
  check_url(address);
  return 0;
}
