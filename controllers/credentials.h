#pragma once
// Credentials are resolved by the controller, outside the sources (KEDA's resolver model): a source
// kind names the Secret (CheckedSourceSpec::credentials), the controller reads it with its own
// permissions in the monitor's namespace and hands the values to the kind. Values are never
// logged.
#include <map>
#include <string>

#include "kube/client.h"
#include "sources/queue_source.h"
#include "util/result.h"

namespace lagpilot::controllers {

struct SecretValues {
  std::map<std::string, std::string> values;  // decoded, by key
  std::string resource_version;
};

class SecretReader {
 public:
  explicit SecretReader(kube::KubeClient& client) : client_(client) {}
  // Errors: "SecretNotFound" or "SecretUnreadable", the message naming the field that refers to
  // it: "spec.source.<kind>.authSecretRef: Secret team-a/queue-auth: not found".
  Result<SecretValues> read(const std::string& ns, const SecretReference& ref) const;

 private:
  kube::KubeClient& client_;
};

}  // namespace lagpilot::controllers
