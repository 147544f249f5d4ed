#pragma once
// The source kinds one operator knows, by the member of spec.source / spec.latency they read.
// Built at start (builtin_sources.h for what lagpilot ships, tests add their own); not a global.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/latency_source.h"
#include "sources/queue_source.h"
#include "util/result.h"

namespace lagpilot {

template <typename Kind>
struct SelectedKind {
  Kind* kind = nullptr;
  std::string name;       // the member's name, the kind
  nlohmann::json spec;    // spec.source.<kind>
  std::string spec_path;  // "spec.source.<kind>", for messages
};

class SourceRegistry {
 public:
  void add(std::unique_ptr<SourceKind> kind);
  void add(std::unique_ptr<LatencySourceKind> kind);

  std::vector<std::string> source_kinds() const;
  std::vector<std::string> latency_kinds() const;

  // `source_spec` is spec.source: exactly one member, naming a registered kind. Errors:
  // Error{"InvalidSpec", "spec.source: set exactly one of <the registered kinds>"}.
  Result<SelectedKind<SourceKind>> select_source(const nlohmann::json& source_spec) const;
  // `latency_spec` is spec.latency, the same way.
  Result<SelectedKind<LatencySourceKind>> select_latency(const nlohmann::json& latency_spec) const;

  // Queue sources alive over every kind.
  int live_sources() const;

 private:
  std::map<std::string, std::unique_ptr<SourceKind>> sources_;
  std::map<std::string, std::unique_ptr<LatencySourceKind>> latency_;
};

}  // namespace lagpilot
