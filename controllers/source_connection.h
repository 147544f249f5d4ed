#pragma once
// One monitor's live source of one kind (its queue, or its latency query) and what it was built
// from. The source is rebuilt when its spec or its Secret's content changes; the Secret is re-read
// every refresh interval to pick up rotated credentials, and always before a source is built; each
// read checks that the Secret may be used (credentials.h), and a refusal drops the source.
#include <memory>
#include <optional>
#include <string>

#include "controllers/credentials.h"
#include "sources/source_registry.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::controllers {

template <typename Kind, typename Source>
class SourceConnection {
 public:
  // The source for `selected`, built (or rebuilt) when needed. `secret` is the Secret the kind
  // named for its credentials (nullopt: none).
  Result<Source*> ensure(const SelectedKind<Kind>& selected,
                         const std::optional<SecretReference>& secret, const std::string& ns,
                         const SecretReader& secrets, WallTime now, Duration refresh_interval) {
    const std::string spec_identity = selected.name + "|" + selected.spec.dump();
    bool rebuild = !source_ || spec_identity != spec_identity_;
    std::string secret_version;
    SourceCredentials credentials;
    if (secret) {
      bool due = rebuild || !secret_read_at_ || now - *secret_read_at_ >= refresh_interval;
      secret_version = secret_version_;
      if (due) {
        auto read = secrets.read(ns, *secret, selected.name);
        if (!read) {
          // Not allowed (any more): the values must not be used, so neither may a source built
          // from them.
          if (is_credential_refusal(read.error())) reset();
          return read.error();
        }
        secret_read_at_ = now;
        secret_version = read->resource_version;
        credentials = std::move(read->values);
        if (secret_version != secret_version_) rebuild = true;
      }
    } else {
      secret_read_at_.reset();
    }
    if (secret_version != secret_version_) rebuild = true;
    if (!rebuild) return source_.get();
    source_.reset();  // release the old connections first
    auto created = selected.kind->create(selected.spec, credentials);
    if (!created) return created.error();
    source_ = std::move(created).value();
    spec_identity_ = spec_identity;
    secret_version_ = secret_version;
    return source_.get();
  }

  void reset() {
    source_.reset();
    spec_identity_.clear();
    secret_version_.clear();
    secret_read_at_.reset();
  }
  Source* get() const { return source_.get(); }

 private:
  std::unique_ptr<Source> source_;
  std::string spec_identity_;
  std::string secret_version_;
  std::optional<WallTime> secret_read_at_;
};

}  // namespace lagpilot::controllers
