#pragma once
// The `lagpilot` binary (LAGPILOT_BINARY, defined by the test target) as a child process with its
// stdout and stderr in a file, for the tests that run the operator for real.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/test_support.h"

namespace lagpilot::testkit {

class OperatorProcess {
 public:
  OperatorProcess(const std::vector<std::string>& args, const std::string& log_path)
      : log_path_(log_path) {
    // Everything the child needs is prepared here: after fork() in a process with threads, the
    // child may only call async-signal-safe functions (no allocation) until it execs.
    std::vector<std::string> argv_strings = {LAGPILOT_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Without POD_NAME its leader-election identity is <hostname>_<pid>.
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).substr(0, 9) != "POD_NAME=") envp.push_back(*e);
    }
    envp.push_back(nullptr);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(log, STDERR_FILENO);  // dup2 clears FD_CLOEXEC on the copies
      ::dup2(log, STDOUT_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (log >= 0) ::close(log);
  }
  ~OperatorProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  OperatorProcess(const OperatorProcess&) = delete;
  OperatorProcess& operator=(const OperatorProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal) { ::kill(pid_, signal); }
  // The exit code once it exited (-1 for a signal), nullopt while it runs.
  std::optional<int> exit_code() {
    if (exit_code_) return exit_code_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }
  bool running() { return !exit_code().has_value(); }
  bool wait_exit(std::chrono::milliseconds limit) {
    return controlplane::eventually([&] { return exit_code().has_value(); }, limit);
  }
  // Sends SIGTERM and waits up to `limit`; the exit code, or -1 if it did not exit.
  int terminate(std::chrono::milliseconds limit) {
    signal(SIGTERM);
    return wait_exit(limit) ? *exit_code_ : -1;
  }

  const std::string& log_path() const { return log_path_; }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool logged(const std::string& text) const { return log().find(text) != std::string::npos; }
  // The port of the first "<what> on http://host:port" line the operator logged, for servers
  // bound to port 0; nullopt if no such line appeared within `limit`.
  std::optional<int> announced_port(const std::string& what,
                                    std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const std::regex line(what + R"( on http://[^:/\s]+:([0-9]+))");
    std::optional<int> port;
    controlplane::eventually(
        [&] {
          std::smatch match;
          std::string text = log();
          if (std::regex_search(text, match, line)) port = std::stoi(match[1].str());
          return port.has_value() || exit_code().has_value();
        },
        limit);
    return port;
  }
  std::string log_tail(std::size_t bytes = 6000) const {
    std::string text = log();
    return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace lagpilot::testkit
