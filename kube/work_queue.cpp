#include "kube/work_queue.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::kube {

WorkQueue::WorkQueue(Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(std::move(options)) {}

void WorkQueue::insert_locked(const std::string& key, WallTime ready_at) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  ready_since_[key] = ready_at;
  if (!processing_.count(key)) queue_.push_back(key);
  if (options_.on_add) options_.on_add();
}

WorkQueue::DepthChange WorkQueue::depth_change_locked() {
  if (!options_.on_depth || queue_.size() == last_depth_) return {};
  last_depth_ = queue_.size();
  return {++depth_seq_, last_depth_};
}

void WorkQueue::report_depth(DepthChange change) {
  if (change.seq == 0) return;
  std::lock_guard lock(depth_mutex_);
  if (change.seq <= depth_reported_) return;  // a newer value is already out
  depth_reported_ = change.seq;
  options_.on_depth(change.depth);
}

void WorkQueue::add(const std::string& key) {
  DepthChange depth;
  {
    std::lock_guard lock(mutex_);
    insert_locked(key, clock_.now());
    ++generation_;
    depth = depth_change_locked();
  }
  changed_.notify_one();
  report_depth(depth);
}

void WorkQueue::add_after(const std::string& key, Duration delay) {
  if (delay <= Duration::zero()) return add(key);
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;
    WallTime deadline = clock_.now() + std::chrono::duration_cast<WallTime::duration>(delay);
    auto [it, inserted] = delayed_.emplace(key, deadline);
    if (inserted) {
      by_deadline_.emplace(deadline, key);
    } else if (deadline < it->second) {
      by_deadline_.erase({it->second, key});
      it->second = deadline;
      by_deadline_.emplace(deadline, key);
    }
    ++generation_;
  }
  changed_.notify_all();
}

Duration WorkQueue::next_backoff(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  int exponent = it == failures_.end() ? 0 : it->second;
  double factor = std::pow(2.0, std::min(exponent, 40));
  auto backoff = std::chrono::duration_cast<Duration>(options_.base_backoff * factor);
  return std::min(backoff, options_.max_backoff);
}

void WorkQueue::add_rate_limited(const std::string& key) {
  Duration backoff = next_backoff(key);
  {
    std::lock_guard lock(mutex_);
    ++failures_[key];
    std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
    backoff = std::chrono::duration_cast<Duration>(backoff * spread(random_));
  }
  if (options_.on_retry) options_.on_retry();
  add_after(key, backoff);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promote_due_locked(WallTime now) {
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    auto due = by_deadline_.extract(by_deadline_.begin());
    const auto& [deadline, key] = due.value();
    delayed_.erase(key);
    insert_locked(key, deadline);
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  // Promoting due keys and taking one both change the ready count: report it as it stands when
  // get() returns, without the lock.
  auto finish = [&](std::optional<std::string> key) {
    DepthChange depth = depth_change_locked();
    lock.unlock();
    report_depth(depth);
    return key;
  };
  while (true) {
    if (shutting_down_) return finish(std::nullopt);
    WallTime now = clock_.now();
    promote_due_locked(now);
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      dirty_.erase(key);
      processing_.insert(key);
      if (auto it = ready_since_.find(key); it != ready_since_.end()) {
        if (options_.on_wait) {
          options_.on_wait(std::max(0.0, std::chrono::duration<double>(now - it->second).count()));
        }
        ready_since_.erase(it);
      }
      return finish(std::move(key));
    }
    WallTime next = by_deadline_.empty() ? WallTime::max() : by_deadline_.begin()->first;
    unsigned long seen = generation_;
    clock_.wait_until(lock, changed_, next, [&] { return shutting_down_ || generation_ != seen; });
  }
}

void WorkQueue::done(const std::string& key) {
  DepthChange depth;
  {
    std::lock_guard lock(mutex_);
    processing_.erase(key);
    if (dirty_.count(key)) {
      // Re-added while being processed: ready from now on, not from the re-add.
      queue_.push_back(key);
      ready_since_[key] = clock_.now();
    }
    ++generation_;
    depth = depth_change_locked();
  }
  changed_.notify_one();
  report_depth(depth);
}

void WorkQueue::shut_down() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    ++generation_;
  }
  changed_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::size_t WorkQueue::ready_count() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkQueue::delayed_count() const {
  std::lock_guard lock(mutex_);
  return delayed_.size();
}

std::optional<WallTime> WorkQueue::deadline(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = delayed_.find(key);
  if (it == delayed_.end()) return std::nullopt;
  return it->second;
}

std::optional<WallTime> WorkQueue::oldest_waiting() const {
  std::lock_guard lock(mutex_);
  std::optional<WallTime> oldest;
  auto consider = [&oldest](WallTime t) {
    if (!oldest || t < *oldest) oldest = t;
  };
  for (const auto& key : queue_) {
    if (auto it = ready_since_.find(key); it != ready_since_.end()) consider(it->second);
  }
  // Due keys are promoted only by get(): with every worker stuck they stay here.
  if (!by_deadline_.empty() && by_deadline_.begin()->first <= clock_.now())
    consider(by_deadline_.begin()->first);
  return oldest;
}

}  // namespace lagpilot::kube
