#pragma once
// A de-duplicating, rate-limited work queue keyed by "namespace/name", with the semantics of
// client-go's workqueue: a key waits in the queue at most once; a key being processed is never
// handed to a second worker (re-adds wait until done()); add_after keeps the earliest deadline;
// add_rate_limited backs off exponentially per key until forget().
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "util/clock.h"

namespace lagpilot::kube {

struct WorkQueueOptions {
  Duration base_backoff = std::chrono::milliseconds(200);
  Duration max_backoff = std::chrono::minutes(5);
  double jitter = 0.1;  // +-10% of each backoff
  // Observers for the operator's metrics; any may be empty.
  std::function<void()> on_add;
  std::function<void()> on_retry;
  std::function<void(double seconds)> on_wait;  // time a key waited between ready and get()
  // The number of keys ready now (ready_count()), each time it changes. Called outside the
  // queue's lock, one call at a time, newest value last (a stale value is never reported after a
  // newer one); it may read the queue (ready_count() ...) but must not add to it.
  std::function<void(std::size_t ready)> on_depth;
};

class WorkQueue {
 public:
  explicit WorkQueue(Clock& clock, WorkQueueOptions options = {});

  void add(const std::string& key);
  void add_after(const std::string& key, Duration delay);
  void add_rate_limited(const std::string& key);
  // Clears the key's failure count (after a successful reconcile).
  void forget(const std::string& key);
  int failures(const std::string& key) const;
  // The backoff the next add_rate_limited(key) would use (without jitter), for tests and logs.
  Duration next_backoff(const std::string& key) const;

  // Blocks until a key is ready; nullopt once shut down.
  std::optional<std::string> get();
  void done(const std::string& key);
  void shut_down();
  bool shutting_down() const;

  std::size_t ready_count() const;    // keys waiting to be processed now
  std::size_t delayed_count() const;  // keys waiting for a deadline
  std::optional<WallTime> deadline(const std::string& key) const;
  // When the key that has waited longest for a worker became ready (a delayed key: its deadline,
  // once passed); nullopt when no key waits. For liveness: workers that stop taking keys show
  // as an ever older value.
  std::optional<WallTime> oldest_waiting() const;

 private:
  // A change of ready_count() to report once the lock is released; seq 0: nothing changed.
  struct DepthChange {
    unsigned long seq = 0;
    std::size_t depth = 0;
  };
  void insert_locked(const std::string& key, WallTime ready_at);
  void promote_due_locked(WallTime now);
  DepthChange depth_change_locked();
  void report_depth(DepthChange change);

  Clock& clock_;
  WorkQueueOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::map<std::string, WallTime> delayed_;  // key -> deadline
  // The same keys by deadline, earliest first: promoting due keys and finding the next deadline
  // cost O(due keys + log n), not a walk over every delayed key (10,000 monitors wait here).
  std::set<std::pair<WallTime, std::string>> by_deadline_;
  std::map<std::string, WallTime> ready_since_;
  std::map<std::string, int> failures_;
  std::mt19937 random_{20261122};
  unsigned long generation_ = 0;
  bool shutting_down_ = false;
  std::size_t last_depth_ = 0;        // the ready count last handed to report_depth
  unsigned long depth_seq_ = 0;       // numbers each change of it
  std::mutex depth_mutex_;            // serializes on_depth calls
  unsigned long depth_reported_ = 0;  // seq of the last value on_depth received
};

}  // namespace lagpilot::kube
