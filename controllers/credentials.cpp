#include "controllers/credentials.h"

#include "kube/config.h"

namespace lagpilot::controllers {

Result<SecretValues> SecretReader::read(const std::string& ns, const SecretReference& ref) const {
  auto secret = client_.get(kube::resources::kSecrets, ns, ref.name);
  if (!secret) {
    bool missing = secret.error().reason == kube::ApiReason::kNotFound;
    return Error{missing ? "SecretNotFound" : "SecretUnreadable",
                 ref.field + ": Secret " + ns + "/" + ref.name + ": " +
                     (missing ? "not found" : secret.error().message)};
  }
  SecretValues out;
  const kube::Json data = secret->value("data", kube::Json::object());
  for (const auto& [key, value] : data.items()) {
    if (value.is_string()) out.values[key] = kube::base64_decode(value.get<std::string>());
  }
  out.resource_version = secret->value("/metadata/resourceVersion"_json_pointer, "");
  return out;
}

}  // namespace lagpilot::controllers
