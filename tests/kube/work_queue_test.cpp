#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "kube/work_queue.h"

namespace lagpilot::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(WorkQueue, DeduplicatesWaitingKeys) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  queue.add("ns/a");
  queue.add("ns/b");
  EXPECT_EQ(queue.ready_count(), 2u);
  EXPECT_EQ(*queue.get(), "ns/a");
  EXPECT_EQ(*queue.get(), "ns/b");
}

TEST(WorkQueue, KeyBeingProcessedIsNotHandedOutAgainUntilDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  auto first = queue.get();
  ASSERT_EQ(*first, "ns/a");
  queue.add("ns/a");                   // changed while being processed
  EXPECT_EQ(queue.ready_count(), 0u);  // parked, not ready
  queue.done("ns/a");
  EXPECT_EQ(queue.ready_count(), 1u);  // re-queued exactly once
  EXPECT_EQ(*queue.get(), "ns/a");
}

TEST(WorkQueue, AddAfterKeepsTheEarliestDeadline) {
  FakeClock clock;
  WorkQueue queue(clock);
  auto start = clock.now();
  queue.add_after("ns/a", seconds(10));
  queue.add_after("ns/a", seconds(3));
  queue.add_after("ns/a", seconds(20));
  ASSERT_TRUE(queue.deadline("ns/a").has_value());
  EXPECT_EQ(*queue.deadline("ns/a") - start, seconds(3));
}

TEST(WorkQueue, DueKeysBecomeReadyEarliestDeadlineFirst) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add_after("ns/b", seconds(3));
  queue.add_after("ns/a", seconds(5));
  queue.add_after("ns/c", seconds(1));
  queue.add_after("ns/a", seconds(2));  // moved earlier: due second, and only once
  EXPECT_EQ(queue.delayed_count(), 3u);
  clock.advance(seconds(10));
  EXPECT_EQ(*queue.get(), "ns/c");
  EXPECT_EQ(queue.delayed_count(), 0u);
  EXPECT_EQ(queue.ready_count(), 2u);
  EXPECT_EQ(*queue.get(), "ns/a");
  EXPECT_EQ(*queue.get(), "ns/b");
  EXPECT_EQ(queue.ready_count(), 0u);
}

TEST(WorkQueue, DelayedKeyBecomesReadyWhenClockPassesDeadline) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add_after("ns/a", seconds(5));
  std::atomic<bool> got{false};
  std::thread worker([&] {
    auto key = queue.get();
    got = key.has_value() && *key == "ns/a";
  });
  clock.advance(seconds(4));
  std::this_thread::sleep_for(milliseconds(20));  // give the worker a chance to (wrongly) wake
  EXPECT_FALSE(got.load());
  clock.advance(seconds(1));
  worker.join();
  EXPECT_TRUE(got.load());
}

TEST(WorkQueue, RateLimitedBackoffDoublesPerKeyUntilForget) {
  FakeClock clock;
  WorkQueueOptions options;
  options.base_backoff = milliseconds(100);
  options.max_backoff = seconds(1);
  options.jitter = 0;
  WorkQueue queue(clock, options);
  auto start = clock.now();
  EXPECT_EQ(queue.next_backoff("ns/a"), milliseconds(100));
  queue.add_rate_limited("ns/a");
  EXPECT_EQ(*queue.deadline("ns/a") - start, milliseconds(100));
  EXPECT_EQ(queue.next_backoff("ns/a"), milliseconds(200));
  queue.add_rate_limited("ns/a");
  queue.add_rate_limited("ns/a");
  queue.add_rate_limited("ns/a");
  EXPECT_EQ(queue.failures("ns/a"), 4);
  EXPECT_EQ(queue.next_backoff("ns/a"), seconds(1));         // capped
  EXPECT_EQ(queue.next_backoff("ns/b"), milliseconds(100));  // per key
  queue.forget("ns/a");
  EXPECT_EQ(queue.failures("ns/a"), 0);
  EXPECT_EQ(queue.next_backoff("ns/a"), milliseconds(100));
}

TEST(WorkQueue, JitterStaysWithinBounds) {
  FakeClock clock;
  WorkQueueOptions options;
  options.base_backoff = seconds(10);
  options.jitter = 0.1;
  for (int i = 0; i < 20; ++i) {
    WorkQueue queue(clock, options);
    auto start = clock.now();
    queue.add_rate_limited("k" + std::to_string(i));
    auto delay = *queue.deadline("k" + std::to_string(i)) - start;
    EXPECT_GE(delay, seconds(9));
    EXPECT_LE(delay, seconds(11));
  }
}

TEST(WorkQueue, ShutDownReleasesBlockedWorkers) {
  FakeClock clock;
  WorkQueue queue(clock);
  std::atomic<int> released{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      if (!queue.get()) ++released;
    });
  }
  queue.shut_down();
  for (auto& w : workers) w.join();
  EXPECT_EQ(released.load(), 3);
  queue.add("ns/a");
  EXPECT_EQ(queue.ready_count(), 0u);
}

TEST(WorkQueue, NoKeyIsProcessedByTwoWorkersAtOnce) {
  SystemClock clock;
  WorkQueue queue(clock);
  std::mutex mutex;
  std::set<std::string> in_flight;
  std::atomic<int> overlaps{0}, processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        {
          std::lock_guard lock(mutex);
          if (!in_flight.insert(*key).second) ++overlaps;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mutex);
          in_flight.erase(*key);
        }
        ++processed;
        queue.done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) queue.add("ns/k" + std::to_string(i % 5));
  while (queue.ready_count() > 0) std::this_thread::yield();
  queue.shut_down();
  for (auto& w : workers) w.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(processed.load(), 0);
}

TEST(WorkQueue, ReportsWaitTime) {
  FakeClock clock;
  std::vector<double> waits;
  WorkQueueOptions options;
  options.on_wait = [&](double s) { waits.push_back(s); };
  WorkQueue queue(clock, options);
  queue.add("ns/a");
  clock.advance(seconds(2));
  ASSERT_TRUE(queue.get().has_value());
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_DOUBLE_EQ(waits[0], 2.0);
}

TEST(WorkQueue, ReportsReadyDepthEachTimeItChanges) {
  FakeClock clock;
  std::vector<std::size_t> depths;
  WorkQueue* observed = nullptr;
  std::vector<std::size_t> read_back;
  WorkQueueOptions options;
  options.on_depth = [&](std::size_t depth) {
    depths.push_back(depth);
    // Outside the queue's lock: reading the queue from the hook does not deadlock.
    read_back.push_back(observed->ready_count());
  };
  WorkQueue queue(clock, options);
  observed = &queue;
  queue.add("ns/a");
  queue.add("ns/a");  // already waiting: no change
  queue.add("ns/b");
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2}));
  ASSERT_EQ(*queue.get(), "ns/a");
  ASSERT_EQ(*queue.get(), "ns/b");
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 1, 0}));
  queue.add("ns/a");  // being processed: parked, not ready
  EXPECT_EQ(depths.size(), 4u);
  queue.done("ns/a");  // now ready
  queue.done("ns/b");  // nothing waiting for it: no change
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 1, 0, 1}));
  ASSERT_EQ(*queue.get(), "ns/a");
  queue.done("ns/a");
  queue.add_after("ns/c", seconds(5));  // delayed keys are not ready
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 1, 0, 1, 0}));
  clock.advance(seconds(5));
  ASSERT_EQ(*queue.get(), "ns/c");  // promoted and taken in one get(): still 0
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 1, 0, 1, 0}));
  EXPECT_EQ(read_back, depths);
}

TEST(WorkQueue, LastReportedDepthIsTheCurrentOneUnderConcurrentAdds) {
  SystemClock clock;
  std::mutex mutex;
  std::optional<std::size_t> last;
  std::atomic<int> calls{0};
  WorkQueueOptions options;
  options.on_depth = [&](std::size_t depth) {
    std::lock_guard lock(mutex);
    last = depth;
    ++calls;
  };
  WorkQueue queue(clock, options);
  std::vector<std::thread> adders;
  for (int t = 0; t < 4; ++t) {
    adders.emplace_back([&queue, t] {
      for (int i = 0; i < 250; ++i) queue.add("ns/t" + std::to_string(t) + "-" + std::to_string(i));
    });
  }
  std::thread taker([&queue] {
    for (int i = 0; i < 500; ++i) queue.done(*queue.get());
  });
  for (auto& adder : adders) adder.join();
  taker.join();
  EXPECT_EQ(queue.ready_count(), 500u);
  std::lock_guard lock(mutex);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 500u);  // never a stale value after the newest
  EXPECT_GE(calls.load(), 500);
}

TEST(WorkQueue, OldestWaitingIsTheLongestWaitForAWorker) {
  FakeClock clock;
  WorkQueue queue(clock);
  EXPECT_EQ(queue.oldest_waiting(), std::nullopt);
  auto start = clock.now();
  queue.add("ns/a");
  clock.advance(seconds(3));
  queue.add("ns/b");
  EXPECT_EQ(queue.oldest_waiting(), start);
  ASSERT_EQ(*queue.get(), "ns/a");
  EXPECT_EQ(queue.oldest_waiting(), start + seconds(3));
  ASSERT_EQ(*queue.get(), "ns/b");
  EXPECT_EQ(queue.oldest_waiting(), std::nullopt);  // both being processed: nobody waits
  queue.add("ns/a");  // changed while being processed: waits for its reconcile, not a worker
  clock.advance(seconds(1));
  EXPECT_EQ(queue.oldest_waiting(), std::nullopt);
  queue.done("ns/a");
  EXPECT_EQ(queue.oldest_waiting(), start + seconds(4));  // ready once done
  ASSERT_EQ(*queue.get(), "ns/a");
  queue.done("ns/a");
  queue.done("ns/b");
  // A delayed key waits for a worker from its deadline on, promoted or not.
  queue.add_after("ns/c", seconds(10));
  EXPECT_EQ(queue.oldest_waiting(), std::nullopt);
  clock.advance(seconds(12));
  EXPECT_EQ(queue.oldest_waiting(), start + seconds(14));
  ASSERT_EQ(*queue.get(), "ns/c");
  EXPECT_EQ(queue.oldest_waiting(), std::nullopt);
}

}  // namespace
}  // namespace lagpilot::kube
