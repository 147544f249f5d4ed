// A process that owns a local control plane and never stops it: starts one in argv[1], writes
// argv[1]/owner-ready, then waits to be killed. harness_test kills it (SIGKILL) and checks that
// controlplane/watchdog stops etcd, kube-apiserver and kube-controller-manager anyway.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "controlplane/local_control_plane.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: control_plane_owner <scripts-dir> <run-dir>\n");
    return 2;
  }
  auto plane = lagpilot::controlplane::LocalControlPlane::start(argv[1], argv[2]);
  if (!plane) {
    std::fprintf(stderr, "%s\n", plane.error().message.c_str());
    return 1;
  }
  std::ofstream(std::string(argv[2]) + "/owner-ready") << "ready\n";
  for (;;) ::pause();
}
