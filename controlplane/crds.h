#pragma once
// Installs the project's CustomResourceDefinitions (crds/*.yaml) and waits until they are served.
#include <chrono>
#include <string>

#include "kube/client.h"
#include "util/result.h"

namespace lagpilot::controlplane {

// Creates or updates every CRD in `crd_dir`, then waits (real time, up to `timeout`) for each to be
// Established and served by discovery.
Status install_crds(kube::KubeClient& client, const std::string& crd_dir,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace lagpilot::controlplane
