#include "sources/source_registry.h"

namespace lagpilot {

namespace {

template <typename Kind>
std::vector<std::string> names_of(const std::map<std::string, std::unique_ptr<Kind>>& kinds) {
  std::vector<std::string> names;
  for (const auto& [name, kind] : kinds) names.push_back(name);
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

template <typename Kind>
Result<SelectedKind<Kind>> select(const std::map<std::string, std::unique_ptr<Kind>>& kinds,
                                  const nlohmann::json& spec, const std::string& path) {
  const std::string supported = joined(names_of(kinds));
  if (!spec.is_object() || spec.size() != 1) {
    return Error{"InvalidSpec", path + ": set exactly one of " + supported +
                                    (spec.is_object() && !spec.empty()
                                         ? " (found " + std::to_string(spec.size()) + ")"
                                         : "")};
  }
  const auto member = spec.begin();
  auto found = kinds.find(member.key());
  if (found == kinds.end()) {
    return Error{"InvalidSpec", path + "." + member.key() +
                                    ": unsupported source kind (supported: " + supported + ")"};
  }
  SelectedKind<Kind> selected{found->second.get(), member.key(), member.value(),
                              path + "." + member.key()};
  if (!selected.spec.is_object())
    return Error{"InvalidSpec", selected.spec_path + ": must be an object"};
  return selected;
}

}  // namespace

void SourceRegistry::add(std::unique_ptr<SourceKind> kind) {
  std::string name = kind->name();
  sources_[name] = std::move(kind);
}

void SourceRegistry::add(std::unique_ptr<LatencySourceKind> kind) {
  std::string name = kind->name();
  latency_[name] = std::move(kind);
}

std::vector<std::string> SourceRegistry::source_kinds() const { return names_of(sources_); }

std::vector<std::string> SourceRegistry::latency_kinds() const { return names_of(latency_); }

Result<SelectedKind<SourceKind>> SourceRegistry::select_source(
    const nlohmann::json& source_spec) const {
  return select(sources_, source_spec, "spec.source");
}

Result<SelectedKind<LatencySourceKind>> SourceRegistry::select_latency(
    const nlohmann::json& latency_spec) const {
  return select(latency_, latency_spec, "spec.latency");
}

int SourceRegistry::live_sources() const {
  int live = 0;
  for (const auto& [name, kind] : sources_) live += kind->live_sources();
  return live;
}

}  // namespace lagpilot
