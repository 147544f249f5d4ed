#pragma once
// `lagpilot simulate`: the subcommand's entry point (the work is in sim/cli.h).
#include <string>
#include <vector>

namespace lagpilot::operator_main {

// args: everything after "simulate". Returns the exit code.
int run_simulate(const std::vector<std::string>& args);

}  // namespace lagpilot::operator_main
