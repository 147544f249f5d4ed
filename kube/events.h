#pragma once
// core/v1 Events about an object, with client-side counting: a repeat of the same event (same
// object, type, reason and message) bumps count and lastTimestamp on the existing Event instead of
// creating another, as client-go's recorder does.
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "kube/client.h"
#include "util/clock.h"

namespace lagpilot::kube {

enum class EventType { kNormal, kWarning };

class EventRecorder {
 public:
  EventRecorder(KubeClient& client, Clock& clock, std::string component,
                std::size_t cache_size = 4096);

  // `involved` must carry apiVersion, kind and metadata (name, namespace, uid).
  ApiStatus record(const Json& involved, EventType type, const std::string& reason,
                   const std::string& message);

 private:
  struct Seen {
    std::string event_name;
    std::string ns;
    int count = 0;
  };

  KubeClient& client_;
  Clock& clock_;
  std::string component_;
  std::size_t cache_size_;
  std::mutex mutex_;
  std::list<std::string> recency_;  // most recent first
  std::map<std::string, std::pair<Seen, std::list<std::string>::iterator>> seen_;
  unsigned long sequence_ = 0;
};

}  // namespace lagpilot::kube
