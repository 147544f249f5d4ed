#pragma once
#include "operator/options.h"

namespace lagpilot::operator_main {

// Runs the operator until SIGTERM/SIGINT (which must be blocked in every thread before this is
// called; run_operator waits for them). Returns the process exit code.
int run_operator(const RunOptions& options);

}  // namespace lagpilot::operator_main
