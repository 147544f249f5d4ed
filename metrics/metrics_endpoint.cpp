#include "metrics/metrics_endpoint.h"

#include <CivetServer.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "metrics/openmetrics.h"

namespace lagpilot::metrics {
namespace {

bool accepts_gzip(mg_connection* connection) {
  const char* accepted = mg_get_header(connection, "Accept-Encoding");
  return accepted && std::strstr(accepted, "gzip") != nullptr;
}

// gzip as prometheus-cpp's handler compresses; empty when zlib fails.
std::string gzip(const std::string& input) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  std::string output;
  int result = Z_OK;
  do {
    constexpr std::size_t kRound = 32768;
    output.resize(stream.total_out + kRound);
    stream.next_out = reinterpret_cast<Bytef*>(output.data() + stream.total_out);
    stream.avail_out = kRound;
    result = deflate(&stream, Z_FINISH);
    output.resize(stream.total_out);
  } while (result == Z_OK);
  deflateEnd(&stream);
  return result == Z_STREAM_END ? output : std::string();
}

// The response prometheus-cpp's MetricsHandler writes, with the content type given. Returns the
// bytes of the body sent.
std::size_t write_response(mg_connection* connection, const char* content_type,
                           const std::string& body) {
  mg_printf(connection, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", content_type);
  if (accepts_gzip(connection)) {
    const std::string compressed = gzip(body);
    if (!compressed.empty()) {
      mg_printf(connection, "Content-Encoding: gzip\r\nContent-Length: %lu\r\n\r\n",
                static_cast<unsigned long>(compressed.size()));
      mg_write(connection, compressed.data(), compressed.size());
      return compressed.size();
    }
  }
  mg_printf(connection, "Content-Length: %lu\r\n\r\n", static_cast<unsigned long>(body.size()));
  mg_write(connection, body.data(), body.size());
  return body.size();
}

}  // namespace

// Serves GET /metrics; its own scrape metrics (the Exposer's) come first, as the Exposer's do.
class MetricsEndpoint::Handler final : public CivetHandler {
 public:
  Handler(std::weak_ptr<prometheus::Collectable> metrics, const ExemplarStore* exemplars)
      : metrics_(std::move(metrics)),
        exemplars_(exemplars),
        own_(std::make_shared<prometheus::Registry>()),
        bytes_(prometheus::BuildCounter()
                   .Name("exposer_transferred_bytes_total")
                   .Help("Transferred bytes to metrics services")
                   .Register(*own_)
                   .Add({})),
        scrapes_(prometheus::BuildCounter()
                     .Name("exposer_scrapes_total")
                     .Help("Number of times metrics were scraped")
                     .Register(*own_)
                     .Add({})),
        latencies_(
            prometheus::BuildSummary()
                .Name("exposer_request_latencies")
                .Help("Latencies of serving scrape requests, in microseconds")
                .Register(*own_)
                .Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}})) {
  }

  bool handleGet(CivetServer*, mg_connection* connection) override {
    const auto started = std::chrono::steady_clock::now();
    std::vector<prometheus::MetricFamily> families = own_->Collect();
    if (auto metrics = metrics_.lock()) {
      auto collected = metrics->Collect();
      families.insert(families.end(), std::make_move_iterator(collected.begin()),
                      std::make_move_iterator(collected.end()));
    }
    const char* accept = mg_get_header(connection, "Accept");
    std::size_t sent = 0;
    if (accept && wants_openmetrics(accept)) {
      sent = write_response(connection, kOpenMetricsContentType,
                            serialize_openmetrics(families, exemplars_));
    } else {
      sent = write_response(connection, "text/plain; charset=utf-8",
                            prometheus::TextSerializer().Serialize(families));
    }
    latencies_.Observe(static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - started)
                                               .count()));
    bytes_.Increment(static_cast<double>(sent));
    scrapes_.Increment();
    return true;
  }

 private:
  std::weak_ptr<prometheus::Collectable> metrics_;
  const ExemplarStore* exemplars_;
  std::shared_ptr<prometheus::Registry> own_;
  prometheus::Counter& bytes_;
  prometheus::Counter& scrapes_;
  prometheus::Summary& latencies_;
};

struct MetricsEndpoint::Server {
  explicit Server(const std::string& bind_address)
      : civet(std::vector<std::string>{"listening_ports", bind_address, "num_threads", "2"}) {}
  CivetServer civet;
};

MetricsEndpoint::MetricsEndpoint(const std::string& bind_address,
                                 std::weak_ptr<prometheus::Collectable> metrics,
                                 const ExemplarStore* exemplars)
    : handler_(std::make_unique<Handler>(std::move(metrics), exemplars)),
      server_(std::make_unique<Server>(bind_address)) {
  server_->civet.addHandler("/metrics", handler_.get());
}

MetricsEndpoint::~MetricsEndpoint() {
  server_->civet.removeHandler("/metrics");
  server_.reset();  // stops serving before the handler goes
}

std::vector<int> MetricsEndpoint::listening_ports() const {
  return server_->civet.getListeningPorts();
}

}  // namespace lagpilot::metrics
