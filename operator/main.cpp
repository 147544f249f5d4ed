// lagpilot: the operator binary. Subcommands: run (the operator), simulate, version.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "operator/options.h"
#include "operator/run.h"
#include "operator/simulate.h"

namespace {

void block_termination_signals() {
  // Blocked in every thread (threads inherit the mask); run_operator waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);  // leader election: started leading
  sigaddset(&signals, SIGUSR2);  // leader election: deposed
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

const char* kUsage = R"(Usage: lagpilot <command> [flags]

Commands:
  run       run the operator (see lagpilot run --help)
  simulate  replay an arrival trace against a QueueMonitor spec with the real scaling engine
            (see lagpilot simulate --help)
  version   print the version
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "version") {
    std::printf("lagpilot %s\n", LAGPILOT_VERSION);
    return 0;
  }
  if (command == "demo") {
    std::fputs(
        "lagpilot: the demo is a separate tool of the source tree: run scripts/demo (it builds "
        "and runs lagpilot-demo)\n",
        stderr);
    return 2;
  }
  if (command == "simulate") return lagpilot::operator_main::run_simulate(args);
  if (command == "run") {
    for (const auto& arg : args) {
      if (arg == "-h" || arg == "--help") {
        std::fputs(lagpilot::operator_main::run_usage().c_str(), stdout);
        return 0;
      }
    }
    auto options = lagpilot::operator_main::parse_run_options(args);
    if (!options) {
      std::fprintf(stderr, "lagpilot run: %s\n", options.error().message.c_str());
      return 2;
    }
    block_termination_signals();
    return lagpilot::operator_main::run_operator(*options);
  }
  std::fprintf(stderr, "lagpilot: unknown command \"%s\"\n%s", command.c_str(), kUsage);
  return 2;
}
