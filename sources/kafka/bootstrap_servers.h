#pragma once
// spec.source.kafka.bootstrapServers, checked entry by entry before anything connects: each
// comma-separated entry is host:port (port 1-65535, an IPv6 address in brackets: [::1]:9092),
// without a scheme (the auth Secret's security.protocol says how to connect). Empty entries (a
// trailing comma) are skipped; errors name the entry: spec.source.kafka.bootstrapServers[1].
#include <string>

#include "util/result.h"

namespace lagpilot {

Status check_bootstrap_servers(const std::string& bootstrap_servers);

}  // namespace lagpilot
