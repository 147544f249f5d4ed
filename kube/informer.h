#pragma once
// An informer: list + watch of one resource type into a local store, with handlers. It lists
// (paged), then watches from the list's resourceVersion with bookmarks; when the watch ends it
// resumes from the last seen resourceVersion, and on 410 Gone it relists and reconciles the store
// (objects missing from the new list are reported as deleted).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "util/clock.h"

namespace lagpilot::kube {

struct InformerHandlers {
  std::function<void(const Json& object)> on_add;
  std::function<void(const Json& old_object, const Json& new_object)> on_update;
  std::function<void(const Json& object)> on_delete;
};

struct InformerOptions {
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  int watch_timeout_seconds = 300;
  Duration min_backoff = std::chrono::milliseconds(200);
  Duration max_backoff = std::chrono::seconds(30);
  // Applied to every object before it is stored and handed to handlers, e.g. to keep only the
  // fields the controller reads (client-go's SetTransform): the cache then costs what it is used
  // for, not whole objects with managedFields.
  std::function<void(Json&)> transform;
};

struct InformerStats {
  int lists = 0;       // full lists, the first included
  int list_pages = 0;  // pages of those lists received
  int watches = 0;     // watch requests opened
  int gone = 0;        // 410 Gone answers that forced a relist
  int watch_errors = 0;
  std::string last_resource_version;
};

class Informer {
 public:
  // `ns` empty watches all namespaces.
  Informer(KubeClient& client, Gvr gvr, std::string ns, Clock& clock, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Add handlers before start().
  void add_handlers(InformerHandlers handlers);
  void start();
  void stop();

  bool has_synced() const;
  // Waits (real time) until the first list is in the store, or `timeout` passes.
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  // Waits (real time) until the first list is in the store, however long that takes while it
  // progresses: false when no page of the list arrived for `stall_timeout` (a large cache on a
  // busy API server takes as long as it takes; a server that does not answer does not).
  bool wait_for_sync_progress(std::chrono::milliseconds stall_timeout) const;

  std::shared_ptr<const Json> get(const std::string& key) const;
  std::vector<std::shared_ptr<const Json>> list() const;
  std::size_t size() const;
  InformerStats stats() const;
  const Gvr& gvr() const { return gvr_; }

 private:
  void run();
  bool relist(std::string& resource_version);
  enum class WatchEnd { kClosed, kGone, kFailed, kStopped };
  WatchEnd watch_once(std::string& resource_version);
  void apply(WatchEventType type, Json object);
  void backoff_wait(Duration& backoff);

  KubeClient& client_;
  Gvr gvr_;
  std::string namespace_;
  Clock& clock_;
  InformerOptions options_;
  std::vector<InformerHandlers> handlers_;

  mutable std::mutex store_mutex_;
  mutable std::condition_variable synced_cv_;
  std::map<std::string, std::shared_ptr<const Json>> store_;
  bool synced_ = false;
  InformerStats stats_;

  std::mutex control_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::unique_ptr<WatchStream> current_watch_;
  std::thread thread_;
};

}  // namespace lagpilot::kube
