#pragma once
// /healthz and /readyz on their own port: a minimal HTTP/1.1 server (GET only, one thread), so
// the probes work even when the operator's other machinery is stuck.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kube/work_queue.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::operator_main {

class ProbeServer {
 public:
  // `healthy`: the process is alive and its loops turn. `ready`: caches synced.
  ProbeServer(std::function<bool()> healthy, std::function<bool()> ready);
  // `health_problem`: nullopt while healthy, else the reason /healthz gives with its 500.
  ProbeServer(std::function<std::optional<std::string>()> health_problem,
              std::function<bool()> ready);
  ~ProbeServer();

  // `bind_address` like ":8081", "127.0.0.1:0" or "0.0.0.0:8081".
  Status start(const std::string& bind_address);
  void stop();
  // The address bound by start() (the port the kernel chose for port 0).
  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  void serve();

  std::function<std::optional<std::string>()> health_problem_;
  std::function<bool()> ready_;
  int listen_fd_ = -1;
  std::string host_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// What /healthz vouches for: that the process is alive and its loops turn. A ticker thread runs
// the checks every `tick` (each may take locks the loops take, so a deadlock stops the ticker)
// and marks the round done; loops that cannot be checked from outside beat heartbeats of their
// own. problem(), what the probe serves, only reads what was recorded and never blocks on them.
class Watchdog {
 public:
  // nullopt: fine; otherwise what is wrong.
  using Check = std::function<std::optional<std::string>()>;

  // Unhealthy when the checks have not completed a round for `stall_limit`. They run every `tick`,
  // at most stall_limit / 4: a round that ends a tick plus a scheduling delay after the one before
  // must not look like a stall.
  Watchdog(Clock& clock, Duration stall_limit, Duration tick = std::chrono::seconds(1));
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Before start().
  void add_check(std::string name, Check check);
  // A loop that beats at least every `limit` from now on (registering counts as a beat).
  void watch(const std::string& name, Duration limit);
  void beat(const std::string& name);
  void unwatch(const std::string& name);

  // Starts the ticker thread (the first round runs at once); stop() joins it.
  void start();
  void stop();
  // One round of the checks, as the ticker runs them (tests call it with a fake clock).
  void run_checks();

  // nullopt while healthy; otherwise every reason (also while the checks never ran: neither
  // started nor run_checks()), e.g. "loop leader-election has not turned for
  // 75 s (limit 60 s)" or "workqueue: ...".
  std::optional<std::string> problem() const;
  Duration stall_limit() const { return stall_limit_; }
  Duration tick() const { return tick_; }

 private:
  struct Heartbeat {
    WallTime last;
    Duration limit;
  };

  Clock& clock_;
  const Duration stall_limit_;
  const Duration tick_;
  std::vector<std::pair<std::string, Check>> checks_;  // fixed once started
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool stopped_ = false;                        // stop() ran: not checking on purpose
  std::optional<WallTime> last_round_;          // when the checks last all returned
  std::string running_check_;                   // the check the ticker is in, if any
  std::map<std::string, std::string> failing_;  // check name -> its problem
  std::map<std::string, Heartbeat> heartbeats_;
  std::thread thread_;
};

// A clock for a loop that waits on it once per turn (the leader elector waits out its retry
// period on its clock): each wait, on entry and on return, is a heartbeat of `loop`. Time itself
// comes from `inner`.
class HeartbeatClock final : public Clock {
 public:
  HeartbeatClock(Clock& inner, Watchdog& watchdog, std::string loop)
      : inner_(inner), watchdog_(watchdog), loop_(std::move(loop)) {}
  WallTime now() const override { return inner_.now(); }
  MonotonicTime monotonic_now() const override { return inner_.monotonic_now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  WallTime deadline, const std::function<bool()>& wake) override {
    watchdog_.beat(loop_);
    inner_.wait_until(lock, cv, deadline, wake);
    watchdog_.beat(loop_);
  }
  void sleep_for(Duration duration) override { inner_.sleep_for(duration); }

 private:
  Clock& inner_;
  Watchdog& watchdog_;
  std::string loop_;
};

// A check for the controller's work queue: failing while some key has waited longer than `limit`
// for a worker (the workers are stuck, or hopelessly behind); fine while the queue shuts down.
Watchdog::Check work_queue_check(const kube::WorkQueue& queue, Clock& clock, Duration limit);

// Splits ":8080" / "host:port" into host ("0.0.0.0" when empty) and port; nullopt when malformed.
std::optional<std::pair<std::string, int>> parse_bind_address(const std::string& address);

}  // namespace lagpilot::operator_main
