#pragma once
// /metrics over HTTP, as prometheus-cpp's Exposer serves it (civetweb, the same response to a
// plain scrape: the text format 0.0.4, gzip when accepted, and the exposer_* scrape metrics),
// plus content negotiation: a scraper whose Accept header asks for OpenMetrics 1.0 (Prometheus
// does) gets the OpenMetrics exposition with the histograms' exemplars (openmetrics.h).
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Collectable;
}

namespace lagpilot::metrics {

class ExemplarStore;

class MetricsEndpoint {
 public:
  // `bind_address`: "host:port" (port 0: the kernel picks one). `exemplars` may be nullptr.
  // Throws std::runtime_error when it cannot listen there.
  MetricsEndpoint(const std::string& bind_address, std::weak_ptr<prometheus::Collectable> metrics,
                  const ExemplarStore* exemplars);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  std::vector<int> listening_ports() const;

 private:
  class Handler;
  std::unique_ptr<Handler> handler_;
  struct Server;
  std::unique_ptr<Server> server_;
};

}  // namespace lagpilot::metrics
