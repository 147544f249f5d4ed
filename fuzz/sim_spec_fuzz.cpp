// The simulator's spec file (sim/spec_file.h): YAML with one QueueMonitor document, parsed by the
// operator's own spec parser, errors located at a line of the file. Invariants: no crash or
// undefined behaviour; every error is a value "FILE:LINE: ..." with LINE inside the file;
// locate_yaml_field never points outside the file.
#include <algorithm>

#include "fuzz/fuzz_check.h"
#include "sim/spec_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(lagpilot::fuzz::text_of(data, size));
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  const lagpilot::fuzz::ScratchFile file(text, "spec.yaml");
  const std::string& path = file.path();
  const auto spec = lagpilot::sim::load_simulation_spec(path);
  if (!spec) {
    const auto& error = spec.error();
    FUZZ_CHECK(error.code == "InvalidSpec" || error.code == "InvalidYaml", error.code);
    FUZZ_CHECK(error.message.starts_with(path + ":"), error.message);
    const std::string after = error.message.substr(path.size() + 1);
    int line = 0;
    try {
      line = std::stoi(after);
    } catch (...) {
      FUZZ_CHECK(false, "no line number: " + error.message);
    }
    // 0 when yaml-cpp's exception carries no position (its null mark).
    FUZZ_CHECK(line >= 0 && line <= lines, error.message);
    return 0;
  }
  FUZZ_CHECK(spec->source == path, spec->source);
  FUZZ_CHECK(lagpilot::sim::objective_seconds(*spec) > 0, "objective");

  // Field paths as the parsers write them, looked up in the same text.
  for (const char* field : {"spec.scaling.scaleUp.periodSeconds", "spec.slos[0].goodWhen.threshold",
                            "spec.source.kafka.topic", "spec.alerts[2].summary"}) {
    if (auto line = lagpilot::sim::locate_yaml_field(text, 1, field)) {
      FUZZ_CHECK(*line >= 1 && *line <= lines, field);
    }
  }
  return 0;
}
