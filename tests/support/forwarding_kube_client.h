#pragma once
// A KubeClient that sends every call to a real one. Tests derive from it and override only the
// calls whose failures or timing they inject (a slow PATCH, a lagging watch); everything else
// reaches the real API server unchanged.
#include <memory>
#include <string>

#include "kube/client.h"

namespace lagpilot::testkit {

class ForwardingKubeClient : public kube::KubeClient {
 public:
  explicit ForwardingKubeClient(kube::KubeClient& real) : real_(real) {}

  kube::ApiResult<kube::Json> get(const kube::Gvr& g, const std::string& n,
                                  const std::string& m) override {
    return real_.get(g, n, m);
  }
  kube::ApiResult<kube::Json> list(const kube::Gvr& g, const std::string& n,
                                   const kube::ListOptions& o) override {
    return real_.list(g, n, o);
  }
  kube::ApiResult<kube::Json> create(const kube::Gvr& g, const std::string& n,
                                     const kube::Json& o) override {
    return real_.create(g, n, o);
  }
  kube::ApiResult<kube::Json> update(const kube::Gvr& g, const std::string& n,
                                     const kube::Json& o) override {
    return real_.update(g, n, o);
  }
  kube::ApiResult<kube::Json> patch(const kube::Gvr& g, const std::string& n, const std::string& m,
                                    kube::PatchType t, const kube::Json& p,
                                    const std::string& s) override {
    return real_.patch(g, n, m, t, p, s);
  }
  kube::ApiStatus remove(const kube::Gvr& g, const std::string& n, const std::string& m) override {
    return real_.remove(g, n, m);
  }
  kube::ApiStatus remove_if_unchanged(const kube::Gvr& g, const std::string& n,
                                      const std::string& m, const std::string& v) override {
    return real_.remove_if_unchanged(g, n, m, v);
  }
  kube::ApiResult<kube::Json> update_status(const kube::Gvr& g, const std::string& n,
                                            const kube::Json& o) override {
    return real_.update_status(g, n, o);
  }
  kube::ApiResult<kube::Json> get_scale(const kube::Gvr& g, const std::string& n,
                                        const std::string& m) override {
    return real_.get_scale(g, n, m);
  }
  kube::ApiResult<kube::Json> patch_scale(const kube::Gvr& g, const std::string& n,
                                          const std::string& m, int r) override {
    return real_.patch_scale(g, n, m, r);
  }
  kube::ApiResult<std::unique_ptr<kube::WatchStream>> watch(const kube::Gvr& g,
                                                            const std::string& n,
                                                            const kube::WatchOptions& o) override {
    return real_.watch(g, n, o);
  }
  kube::ApiResult<kube::Gvr> resolve_kind(const std::string& a, const std::string& k) override {
    return real_.resolve_kind(a, k);
  }

 protected:
  kube::KubeClient& real_;
};

}  // namespace lagpilot::testkit
