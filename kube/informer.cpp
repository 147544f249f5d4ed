#include "kube/informer.h"

#include <spdlog/spdlog.h>

namespace lagpilot::kube {

Informer::Informer(KubeClient& client, Gvr gvr, std::string ns, Clock& clock,
                   InformerOptions options)
    : client_(client),
      gvr_(std::move(gvr)),
      namespace_(std::move(ns)),
      clock_(clock),
      options_(std::move(options)) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(InformerHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  std::lock_guard lock(control_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(control_mutex_);
    stopping_ = true;
    if (current_watch_) current_watch_->cancel();
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::has_synced() const {
  std::lock_guard lock(store_mutex_);
  return synced_;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(store_mutex_);
  return synced_cv_.wait_for(lock, timeout, [this] { return synced_; });
}

bool Informer::wait_for_sync_progress(std::chrono::milliseconds stall_timeout) const {
  std::unique_lock lock(store_mutex_);
  while (!synced_) {
    const int pages = stats_.list_pages;
    if (!synced_cv_.wait_for(lock, stall_timeout,
                             [&] { return synced_ || stats_.list_pages != pages; }))
      return false;
  }
  return true;
}

std::shared_ptr<const Json> Informer::get(const std::string& key) const {
  std::lock_guard lock(store_mutex_);
  auto it = store_.find(key);
  return it == store_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Json>> Informer::list() const {
  std::lock_guard lock(store_mutex_);
  std::vector<std::shared_ptr<const Json>> out;
  out.reserve(store_.size());
  for (const auto& [key, object] : store_) out.push_back(object);
  return out;
}

std::size_t Informer::size() const {
  std::lock_guard lock(store_mutex_);
  return store_.size();
}

InformerStats Informer::stats() const {
  std::lock_guard lock(store_mutex_);
  return stats_;
}

void Informer::backoff_wait(Duration& backoff) {
  std::unique_lock lock(control_mutex_);
  clock_.wait_until(lock, stop_cv_,
                    clock_.now() + std::chrono::duration_cast<WallTime::duration>(backoff),
                    [this] { return stopping_; });
  backoff = std::min(backoff * 2, options_.max_backoff);
}

void Informer::run() {
  std::string resource_version;
  bool need_relist = true;
  Duration backoff = options_.min_backoff;
  while (true) {
    {
      std::lock_guard lock(control_mutex_);
      if (stopping_) return;
    }
    if (need_relist) {
      if (!relist(resource_version)) {
        backoff_wait(backoff);
        continue;
      }
      need_relist = false;
      backoff = options_.min_backoff;
    }
    switch (watch_once(resource_version)) {
      case WatchEnd::kClosed:  // the server's timeout: resume at once
        backoff = options_.min_backoff;
        break;
      case WatchEnd::kGone:
        need_relist = true;
        break;
      case WatchEnd::kFailed:
        backoff_wait(backoff);
        break;
      case WatchEnd::kStopped:
        return;
    }
  }
}

bool Informer::relist(std::string& resource_version) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  // Page by page, each item transformed as it arrives: the whole untransformed list (managedFields
  // and all) is never in memory at once, and every page is progress for wait_for_sync.
  std::map<std::string, std::shared_ptr<const Json>> fresh;
  do {
    auto page = client_.list(gvr_, namespace_, list_options);
    if (!page) {
      spdlog::warn("informer resource={} list failed: {}", gvr_.to_string(), page.error().message);
      return false;
    }
    list_options.continue_token = page->value("/metadata/continue"_json_pointer, "");
    resource_version = page->value("/metadata/resourceVersion"_json_pointer, "");
    std::string list_kind = page->value("kind", "");
    std::string kind = list_kind.size() > 4 ? list_kind.substr(0, list_kind.size() - 4) : list_kind;
    if (page->contains("items") && (*page)["items"].is_array()) {
      for (auto& item : (*page)["items"]) {
        // List items omit kind/apiVersion; restore them so handlers see whole objects.
        item["apiVersion"] = gvr_.api_version();
        item["kind"] = kind;
        if (options_.transform) options_.transform(item);
        auto object = std::make_shared<const Json>(std::move(item));
        fresh.emplace(object_key(*object), object);
      }
    }
    {
      std::lock_guard lock(store_mutex_);
      ++stats_.list_pages;
    }
    synced_cv_.notify_all();
  } while (!list_options.continue_token.empty());
  std::vector<std::pair<std::shared_ptr<const Json>, std::shared_ptr<const Json>>> changes;
  {
    std::lock_guard lock(store_mutex_);
    for (const auto& [key, object] : store_) {
      if (!fresh.count(key)) changes.emplace_back(object, nullptr);
    }
    for (const auto& [key, object] : fresh) {
      auto it = store_.find(key);
      changes.emplace_back(it == store_.end() ? nullptr : it->second, object);
    }
    store_ = std::move(fresh);
    ++stats_.lists;
    stats_.last_resource_version = resource_version;
  }
  for (const auto& [old_object, new_object] : changes) {
    for (const auto& handler : handlers_) {
      try {
        if (!new_object) {
          if (handler.on_delete) handler.on_delete(*old_object);
        } else if (!old_object) {
          if (handler.on_add) handler.on_add(*new_object);
        } else if (handler.on_update) {
          handler.on_update(*old_object, *new_object);
        }
      } catch (const std::exception& e) {
        spdlog::error("informer resource={} handler threw: {}", gvr_.to_string(), e.what());
      }
    }
  }
  {
    std::lock_guard lock(store_mutex_);
    synced_ = true;
  }
  synced_cv_.notify_all();
  return true;
}

Informer::WatchEnd Informer::watch_once(std::string& resource_version) {
  WatchOptions watch_options;
  watch_options.resource_version = resource_version;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.allow_bookmarks = true;
  watch_options.timeout_seconds = options_.watch_timeout_seconds;
  auto opened = client_.watch(gvr_, namespace_, watch_options);
  {
    std::lock_guard lock(store_mutex_);
    ++stats_.watches;
  }
  if (!opened) {
    std::lock_guard lock(store_mutex_);
    if (opened.error().reason == ApiReason::kGone) {
      ++stats_.gone;
      return WatchEnd::kGone;
    }
    spdlog::warn("informer resource={} watch failed: {}", gvr_.to_string(), opened.error().message);
    ++stats_.watch_errors;
    return WatchEnd::kFailed;
  }
  {
    std::lock_guard lock(control_mutex_);
    if (stopping_) return WatchEnd::kStopped;
    current_watch_ = std::move(*opened);
  }
  WatchEnd end = WatchEnd::kClosed;
  while (true) {
    auto event = current_watch_->next();
    if (!event) {
      const ApiError& error = event.error();
      std::lock_guard lock(store_mutex_);
      if (error.reason == ApiReason::kGone) {
        ++stats_.gone;
        end = WatchEnd::kGone;
      } else if (error.reason == ApiReason::kCancelled) {
        end = WatchEnd::kStopped;
      } else {
        ++stats_.watch_errors;
        end = WatchEnd::kFailed;
        spdlog::info("informer resource={} watch broke, resuming from resourceVersion {}: {}",
                     gvr_.to_string(), resource_version, error.message);
      }
      break;
    }
    if (!event->has_value()) break;  // the server closed the watch after timeoutSeconds
    WatchEvent& watch_event = **event;
    std::string rv = watch_event.object.value("/metadata/resourceVersion"_json_pointer, "");
    if (watch_event.type != WatchEventType::kBookmark)
      apply(watch_event.type, std::move(watch_event.object));
    if (!rv.empty()) {
      resource_version = rv;
      std::lock_guard lock(store_mutex_);
      stats_.last_resource_version = rv;
    }
  }
  std::lock_guard lock(control_mutex_);
  current_watch_.reset();
  return stopping_ ? WatchEnd::kStopped : end;
}

void Informer::apply(WatchEventType type, Json stored) {
  std::string key = object_key(stored);
  if (options_.transform) options_.transform(stored);
  auto fresh = std::make_shared<const Json>(std::move(stored));
  std::shared_ptr<const Json> previous;
  {
    std::lock_guard lock(store_mutex_);
    auto it = store_.find(key);
    if (it != store_.end()) previous = it->second;
    if (type == WatchEventType::kDeleted) {
      store_.erase(key);
    } else {
      store_[key] = fresh;
    }
  }
  for (const auto& handler : handlers_) {
    try {
      if (type == WatchEventType::kDeleted) {
        if (handler.on_delete) handler.on_delete(previous ? *previous : *fresh);
      } else if (previous) {
        if (handler.on_update) handler.on_update(*previous, *fresh);
      } else if (handler.on_add) {
        handler.on_add(*fresh);
      }
    } catch (const std::exception& e) {
      spdlog::error("informer resource={} handler threw: {}", gvr_.to_string(), e.what());
    }
  }
}

}  // namespace lagpilot::kube
