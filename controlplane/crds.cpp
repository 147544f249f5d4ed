#include "controlplane/crds.h"

#include <filesystem>
#include <thread>

#include "kube/yaml.h"

namespace lagpilot::controlplane {

Status install_crds(kube::KubeClient& client, const std::string& crd_dir,
                    std::chrono::milliseconds timeout) {
  std::vector<std::string> names;
  std::vector<std::pair<std::string, std::string>> served;  // (apiVersion, kind)
  for (const auto& entry : std::filesystem::directory_iterator(crd_dir)) {
    if (entry.path().extension() != ".yaml") continue;
    auto documents = kube::read_yaml_file(entry.path().string());
    if (!documents) return documents.error();
    for (auto& crd : *documents) {
      std::string name = crd.value("/metadata/name"_json_pointer, "");
      auto created = client.create(kube::resources::kCustomResourceDefinitions, "", crd);
      if (!created && created.error().reason == kube::ApiReason::kAlreadyExists) {
        auto current = client.get(kube::resources::kCustomResourceDefinitions, "", name);
        if (!current) return Error{"CrdInstall", current.error().message};
        crd["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
        auto updated = client.update(kube::resources::kCustomResourceDefinitions, "", crd);
        if (!updated)
          return Error{"CrdInstall", entry.path().string() + ": " + updated.error().message};
      } else if (!created) {
        return Error{"CrdInstall", entry.path().string() + ": " + created.error().message};
      }
      names.push_back(name);
      std::string group = crd.value("/spec/group"_json_pointer, "");
      std::string kind = crd.value("/spec/names/kind"_json_pointer, "");
      for (const auto& version : crd.value("/spec/versions"_json_pointer, kube::Json::array()))
        if (version.value("served", false))
          served.emplace_back(group + "/" + version.value("name", ""), kind);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& name : names) {
    while (true) {
      auto crd = client.get(kube::resources::kCustomResourceDefinitions, "", name);
      bool established = false;
      if (crd) {
        for (const auto& condition :
             crd->value("/status/conditions"_json_pointer, kube::Json::array())) {
          if (condition.value("type", "") == "Established" &&
              condition.value("status", "") == "True") {
            established = true;
          }
        }
      }
      if (established) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return Error{"CrdInstall", "CustomResourceDefinition " + name + " not established within " +
                                       std::to_string(timeout.count()) + " ms"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Established comes before discovery serves the group: a client that discovers at start-up
  // (the controller does, for keda.sh) must find it.
  for (const auto& [api_version, kind] : served) {
    while (!client.resolve_kind(api_version, kind)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Error{"CrdInstall", kind + " in " + api_version +
                                       " not served by discovery within " +
                                       std::to_string(timeout.count()) + " ms"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Ok{};
}

}  // namespace lagpilot::controlplane
