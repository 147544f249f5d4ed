// The kubeconfig parser (kube/config.h). The input is the file's text, in a scratch file of the
// temporary folder (relative file references resolve there and are normally missing). Invariants:
// no crash or undefined behaviour; errors are values with code InvalidConfig naming the file; an
// accepted config has an http(s) server without trailing '/', client certificate and key together;
// base64 decoding of any input never throws and encoding round-trips.
#include "fuzz/fuzz_check.h"
#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(lagpilot::fuzz::text_of(data, size));
  const lagpilot::fuzz::ScratchFile file(text, "kubeconfig");
  const std::string& path = file.path();
  const auto config = lagpilot::kube::load_kubeconfig(path);
  if (!config) {
    FUZZ_CHECK(lagpilot::fuzz::names(config.error(), "InvalidConfig", "kubeconfig " + path),
               config.error().message);
  } else {
    FUZZ_CHECK(config->server.starts_with("https://") || config->server.starts_with("http://"),
               config->server);
    FUZZ_CHECK(!config->server.ends_with("/"), config->server);
    FUZZ_CHECK(config->client_cert_pem.empty() == config->client_key_pem.empty(), config->origin);
    FUZZ_CHECK(!config->default_namespace.empty(), config->origin);
  }

  bool ok = false;
  const std::string decoded = lagpilot::kube::base64_decode(text, &ok);
  if (!ok) FUZZ_CHECK(decoded.empty(), decoded);
  bool round_trip_ok = false;
  FUZZ_CHECK(
      lagpilot::kube::base64_decode(lagpilot::kube::base64_encode(text), &round_trip_ok) == text &&
          round_trip_ok,
      "base64 round trip");
  return 0;
}
