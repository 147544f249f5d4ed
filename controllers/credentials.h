#pragma once
// Credentials are resolved by the controller, outside the sources (KEDA's resolver model): a source
// kind names the Secret and the servers its values go to (CheckedSourceSpec::credentials), the
// controller reads it with its own permissions in the monitor's namespace and hands the values to
// the kind. Values are never logged.
//
// The operator may read more Secrets than the people who create QueueMonitors, so a QueueMonitor
// must not be a way to send a Secret somewhere its owner did not agree to (docs/security.md). Two
// controls, both checked on every read:
//   - the Secret's owner allows it: label lagpilot.io/allow: "true" on the Secret;
//   - the servers are allowed by the operator's --allowed-credential-destinations (empty:
//     anywhere), checked before the Secret is read.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kube/client.h"
#include "sources/queue_source.h"
#include "util/result.h"

namespace lagpilot::controllers {

// The label a Secret must carry, with value "true", for lagpilot to use it.
inline constexpr char kSecretAllowLabel[] = "lagpilot.io/allow";
inline constexpr char kSecretAllowValue[] = "true";

// One entry of --allowed-credential-destinations: "[kind/]host[:port]".
//   kind: a member of spec.source or spec.latency (kafka, prometheus, rabbitmq, redisStreams,
//         natsJetStream); without it, the entry applies to every kind.
//   host: a name or IP address, matched case-insensitively: "*" any host, "*.example.svc" any name
//         ending in ".example.svc"; an IPv6 address in brackets.
//   port: without it, any port.
struct DestinationPattern {
  std::string kind;
  std::string host;
  std::optional<int> port;
  std::string text;  // as given
};

// Errors: Error{"InvalidPattern", "\"<text>\": <problem>"}.
Result<DestinationPattern> parse_destination_pattern(const std::string& text);

// Host (lower case, no brackets) and port of "host", "host:port", "[v6]:port" or
// "scheme://[user@]host[:port][/path]". A URL without a port gets its scheme's (http 80, https
// 443, nats 4222, tls 4222, amqp 5672, amqps 5671); otherwise the port stays unknown.
struct Endpoint {
  std::string host;
  std::optional<int> port;
};
Result<Endpoint> parse_endpoint(const std::string& address);

struct CredentialPolicy {
  // Empty: credentials may go anywhere. Otherwise every destination of a Secret must match one
  // entry for the source's kind (or one without a kind).
  std::vector<DestinationPattern> allowed_destinations;

  // From the flag's values; errors name the bad pattern.
  static Result<CredentialPolicy> from_patterns(const std::vector<std::string>& patterns);
  bool allows(const std::string& kind, const std::string& address) const;
};

// Every kind a pattern names is one of `source_kinds` or `latency_kinds`; errors name the pattern.
Status check_pattern_kinds(const CredentialPolicy& policy,
                           const std::vector<std::string>& source_kinds,
                           const std::vector<std::string>& latency_kinds);

struct SecretValues {
  std::map<std::string, std::string> values;  // decoded, by key
  std::string resource_version;
};

class SecretReader {
 public:
  explicit SecretReader(kube::KubeClient& client, CredentialPolicy policy = {})
      : client_(client), policy_(std::move(policy)) {}
  // The Secret's values for source kind `kind` ("" for no kind: notification webhooks), after
  // both checks. Errors, each message naming the field that refers to the Secret (never a value):
  //   "DestinationNotAllowed" a destination outside the policy; the Secret is not read:
  //     "spec.source.kafka.bootstrapServers: evil.example:9092 is not an allowed credential
  //      destination (--allowed-credential-destinations); Secret team-a/queue-auth not used"
  //   "SecretNotFound"        "spec.source.<kind>.authSecretRef: Secret team-a/queue-auth: not
  //                            found"
  //   "SecretUnreadable"      the API server's answer (e.g. forbidden)
  //   "SecretNotAllowed"      the Secret lacks the label: "spec.source.<kind>.authSecretRef:
  //     Secret team-a/queue-auth is not labelled lagpilot.io/allow: "true" ..."
  Result<SecretValues> read(const std::string& ns, const SecretReference& ref,
                            const std::string& kind = "") const;

 private:
  kube::KubeClient& client_;
  CredentialPolicy policy_;
};

// Whether an error of SecretReader::read means the values must not be used at all (a source built
// from an earlier read is dropped), rather than a failure to read them now.
bool is_credential_refusal(const Error& error);

}  // namespace lagpilot::controllers
