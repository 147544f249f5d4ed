#pragma once
// The real-server fixtures' process helpers (free loopback ports, spawning and stopping servers by
// pid, temporary directories) live in util/server_process.h, shared with lagpilot-demo, which
// starts the same servers; the fixtures keep using them as lagpilot::testkit names.
#include "util/server_process.h"

namespace lagpilot::testkit {
using namespace lagpilot::local_server;  // NOLINT(google-build-using-namespace)
}  // namespace lagpilot::testkit
