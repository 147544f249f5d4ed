#include "util/outage_gate.h"

namespace lagpilot {

Result<OutageGate::Pass> OutageGate::enter(const std::string& key, const std::string& code) {
  std::lock_guard lock(mutex_);
  auto down = first_failure_.find(key);
  if (down == first_failure_.end()) return Pass{};
  if (!probing_) {
    probing_ = true;
    return Pass{true};
  }
  return Error{code, down->second};
}

std::string OutageGate::leave(Pass pass, const std::string& key, bool answered,
                              const std::string& failure) {
  std::lock_guard lock(mutex_);
  if (pass.probe) probing_ = false;
  if (answered) {
    if (pass.probe) {
      first_failure_.clear();
    } else {
      first_failure_.erase(key);
    }
    return failure;
  }
  return first_failure_.try_emplace(key, failure).first->second;
}

bool OutageGate::down(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return first_failure_.contains(key);
}

}  // namespace lagpilot
