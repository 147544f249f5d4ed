#pragma once
// Time is injected: logic reads a Clock, never the system clock directly, so tests and the
// simulator drive time explicitly.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace lagpilot {

using WallTime = std::chrono::system_clock::time_point;
// For intervals and deadlines: never jumps when the wall clock is set.
using MonotonicTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::nanoseconds;

// Two readings, as Envoy's TimeSource has: wall time for stamps and for what Kubernetes stores,
// monotonic time for measuring intervals. A fake clock moves both together.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
  virtual MonotonicTime monotonic_now() const = 0;
  // Blocks until `deadline` (by this clock) or until `wake` returns true after a notify on `cv`.
  // Real clocks wait on the condition variable; fake clocks wait until advanced.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          WallTime deadline, const std::function<bool()>& wake) = 0;
  // Pauses the calling thread (retry backoff). Fake clocks advance themselves instead.
  virtual void sleep_for(Duration duration) = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }
  MonotonicTime monotonic_now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  WallTime deadline, const std::function<bool()>& wake) override {
    if (deadline == WallTime::max()) {
      cv.wait(lock, wake);
    } else {
      cv.wait_until(lock, deadline, wake);
    }
  }
  void sleep_for(Duration duration) override { std::this_thread::sleep_for(duration); }
};

// A clock that only moves when told to. Waiters wake when time is advanced past their deadline.
// advance() and sleep_for() move wall and monotonic time by the same amount.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime{std::chrono::seconds(1'700'000'000)})
      : now_(start) {}

  WallTime now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }

  MonotonicTime monotonic_now() const override {
    std::lock_guard lock(mutex_);
    return monotonic_now_;
  }

  void advance(Duration by) {
    std::lock_guard lock(mutex_);
    now_ += std::chrono::duration_cast<WallTime::duration>(by);
    monotonic_now_ += std::chrono::duration_cast<MonotonicTime::duration>(by);
  }

  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  WallTime deadline, const std::function<bool()>& wake) override {
    // The caller's cv is still notified for state changes; poll both it and fake time.
    while (!wake() && now() < deadline) {
      cv.wait_for(lock, std::chrono::milliseconds(1));
    }
  }

  void sleep_for(Duration duration) override {
    advance(duration);
    std::lock_guard lock(mutex_);
    slept_ += duration;
  }
  // Total simulated time spent in sleep_for, for asserting backoff.
  Duration slept() const {
    std::lock_guard lock(mutex_);
    return slept_;
  }

 private:
  mutable std::mutex mutex_;
  WallTime now_;
  // Starts far from steady_clock's epoch, as a booted machine's does.
  MonotonicTime monotonic_now_{std::chrono::hours(24)};
  Duration slept_{0};
};

// RFC 3339 UTC, second precision, as Kubernetes writes metav1.Time.
std::string format_rfc3339(WallTime t);
// RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (Leases, events.k8s.io).
std::string format_rfc3339_micro(WallTime t);
// Parses "2026-11-22T10:00:00Z" (and fractional seconds / numeric offsets); nullopt when malformed.
std::optional<WallTime> parse_rfc3339(const std::string& text);

}  // namespace lagpilot
