#pragma once
// Local server processes on loopback, for the real-server test fixtures
// (tests/sources/*/..._fixture.h, through tests/support/server_process.h) and lagpilot-demo
// (tools/demo/demo_servers.cpp): a free loopback port, a server process started with fork/exec
// that never outlives a crashed parent (PR_SET_PDEATHSIG), polling with a deadline until it is
// ready, freezing it with SIGSTOP until the kernel reports it stopped, stopping it by pid and
// reaping it, reading its log, and a temporary directory removed with everything in it.
// Header-only, no globals. Failures to create a directory or to fork throw std::runtime_error.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace lagpilot::local_server {

// A directory made by mkdtemp from `prefix` (e.g. "/tmp/lagpilot-redis-"), removed with its
// contents on destruction.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& prefix) {
    std::string name = prefix + "XXXXXX";
    if (!mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The whole text of a file ("" when it cannot be read), e.g. a server's log.
inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released): a server
// started on it may lose a race for it, so callers retry.
inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A socket connected to 127.0.0.1:`port`, or -1 when nothing accepts there. The caller closes it.
inline int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether something accepts TCP connections on 127.0.0.1:`port`.
inline bool loopback_port_accepts(int port) {
  const int fd = connect_loopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// Sends `request` (a whole HTTP/1.0 request) to 127.0.0.1:`port` and returns whether the status
// line of the answer says 200.
inline bool loopback_http_answers_200(int port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return false;
  bool ok = false;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buffer[64] = {};
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer) - 1, 0);
    ok = n > 12 &&
         std::string(buffer, static_cast<std::size_t>(n)).find(" 200 ") != std::string::npos;
  }
  ::close(fd);
  return ok;
}

// Forks and execs `args` (args[0]: the binary's path) with stdout and stderr appended to
// `output_path` (e.g. the server's log, or /dev/null) and `extra_environment` ("NAME=value")
// before the caller's own environment. The child starts with no signal blocked (a caller that
// blocks SIGTERM for sigwait must still be able to stop it) and gets SIGKILL when the thread that
// started it ends (PR_SET_PDEATHSIG: start servers from a thread that lives as long as they
// should). With `own_process_group` it leads a process group of its own, so a Ctrl-C in the
// caller's terminal reaches the caller only (which then stops it by pid). Returns its pid.
inline pid_t spawn_server_process(std::vector<std::string> args, const std::string& output_path,
                                  const std::vector<std::string>& extra_environment = {},
                                  bool own_process_group = false) {
  std::vector<std::string> environment = extra_environment;
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  std::vector<char*> argv, envp;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  for (auto& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed parent
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (own_process_group) setpgid(0, 0);
    const int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// Whether the child `pid` has exited; if so it is reaped and `pid` becomes -1.
inline bool reap_if_exited(pid_t& pid) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return false;
  pid = -1;
  return true;
}

// Polls `ready` every `interval` until it returns true (true), the child `pid` exits (false; `pid`
// becomes -1, e.g. it lost its port) or `limit` passes (false).
inline bool wait_until_ready(pid_t& pid, std::chrono::steady_clock::duration limit,
                             std::chrono::milliseconds interval,
                             const std::function<bool()>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap_if_exited(pid)) return false;
    if (ready()) return true;
    std::this_thread::sleep_for(interval);  // polling a starting server
  }
  return false;
}

// SIGKILL to the child `pid` and reap it; `pid` becomes -1. Nothing when `pid` <= 0.
inline void kill_and_reap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

// SIGCONT (a stopped process cannot handle `signal`) and `signal` to the child `pid`, then reaps
// it, with SIGKILL when it has not exited within `grace`; `pid` becomes -1. Nothing when
// `pid` <= 0.
inline void signal_and_reap(pid_t& pid, int signal, std::chrono::steady_clock::duration grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGCONT);
  ::kill(pid, signal);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid = -1;
}

// Whether the kernel reports every thread of `pid` stopped (state T or t in
// /proc/PID/task/*/stat); false when the process is gone.
inline bool all_threads_stopped(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    const std::string stat = read_text_file(task.path() / "stat");
    const auto state_at = stat.rfind(')');
    if (state_at == std::string::npos || state_at + 2 >= stat.size()) return false;
    const char state = stat[state_at + 2];
    if (state != 'T' && state != 't') return false;
  }
  return !error;
}

// SIGSTOP to `pid` (a server that holds its connections and answers nothing), then polls until
// every thread is stopped (SIGSTOP is asynchronous). Returns false when that did not happen
// within `limit`.
inline bool stop_and_wait_until_stopped(pid_t pid, std::chrono::steady_clock::duration limit) {
  ::kill(pid, SIGSTOP);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!all_threads_stopped(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the kernel's state
  }
  return true;
}

}  // namespace lagpilot::local_server
