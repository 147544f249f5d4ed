#pragma once
// YAML manifests (kubectl-style, several documents per file) to JSON objects.
#include <string>
#include <vector>

#include "kube/client.h"
#include "util/result.h"

namespace lagpilot::kube {

// Plain scalars become bool/int/float/null where YAML 1.2's core schema says so; quoted ones stay
// strings. Errors name `source` (a file name) and the line.
Result<std::vector<Json>> parse_yaml_documents(const std::string& text, const std::string& source);
Result<std::vector<Json>> read_yaml_file(const std::string& path);

}  // namespace lagpilot::kube
