#include "operator/simulate.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "sim/cli.h"

namespace lagpilot::operator_main {

int run_simulate(const std::vector<std::string>& args) {
  return sim::run_simulate_cli(args, std::cout, std::cerr, isatty(fileno(stderr)) == 1);
}

}  // namespace lagpilot::operator_main
