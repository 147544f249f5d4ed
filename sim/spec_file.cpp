#include "sim/spec_file.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "kube/yaml.h"

namespace lagpilot::sim {
namespace {

using Json = nlohmann::json;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

int indentation(const std::string& line) {
  int spaces = 0;
  while (spaces < static_cast<int>(line.size()) && line[static_cast<std::size_t>(spaces)] == ' ') {
    ++spaces;
  }
  return spaces;
}

bool blank_or_comment(const std::string& line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first == std::string::npos || line[first] == '#';
}

struct PathKey {
  std::string key;
  std::optional<int> index;  // "slos[1]": the second list item under slos
};

// "spec.slos[0].goodWhen.threshold" -> spec, slos[0], goodWhen, threshold.
std::vector<PathKey> path_keys(const std::string& field) {
  std::vector<PathKey> keys;
  std::istringstream in(field);
  std::string part;
  while (std::getline(in, part, '.')) {
    PathKey key{.key = part.substr(0, part.find('[')), .index = std::nullopt};
    if (const auto open = part.find('['); open != std::string::npos) {
      try {
        key.index = std::stoi(part.substr(open + 1));
      } catch (...) {
        key.index.reset();
      }
    }
    if (!key.key.empty()) keys.push_back(std::move(key));
  }
  return keys;
}

// `text` matching itself in a regex: keys come from error paths, and spec.source's member is
// whatever the file names ("spec.source.a(b: must be an object").
std::string regex_escaped(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

bool list_item(const std::string& line) {
  const auto first = line.find_first_not_of(' ');
  return first != std::string::npos && line.compare(first, 2, "- ") == 0;
}

// The first line of each document of a YAML stream that holds `kind: QueueMonitor`.
std::vector<int> queue_monitor_documents(const std::vector<std::string>& lines) {
  static const std::regex kKind(R"(^kind:\s*["']?QueueMonitor["']?\s*(#.*)?$)");
  std::vector<int> starts;
  int document_start = 1;
  bool counted = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind("---", 0) == 0) {
      document_start = static_cast<int>(i) + 2;
      counted = false;
    } else if (!counted && std::regex_search(line, kKind)) {
      starts.push_back(document_start);
      counted = true;
    }
  }
  return starts;
}

Error spec_error(const std::string& path, const std::string& text, int first_line,
                 const Error& error) {
  // parse_queue_monitor_spec's messages start with the field path: "spec.scaling.x: ...".
  const auto colon = error.message.find(": ");
  const std::string field = colon == std::string::npos ? "" : error.message.substr(0, colon);
  int line = first_line;
  if (!field.empty()) {
    if (auto found = locate_yaml_field(text, first_line, field)) line = *found;
  }
  return Error{error.code, path + ":" + std::to_string(line) + ": " + error.message};
}

// spec.slos[]: the first SLO on lagSeconds gives the objective.
Result<std::optional<double>> lag_seconds_slo(const Json& slos) {
  for (std::size_t i = 0; i < slos.size(); ++i) {
    const Json& slo = slos[i];
    const std::string at = "spec.slos[" + std::to_string(i) + "]";
    if (!slo.is_object()) return Error{"InvalidSpec", at + ": must be an object"};
    if (slo.value("metric", Json()).is_string() && slo["metric"] == "lagSeconds") {
      const Json good = slo.value("goodWhen", Json());
      if (!good.is_object() || !good.contains("threshold") || !good["threshold"].is_number()) {
        return Error{"InvalidSpec", at + ".goodWhen.threshold: a number is required"};
      }
      const double threshold = good["threshold"].get<double>();
      if (threshold <= 0) {
        return Error{"InvalidSpec", at + ".goodWhen.threshold: must be > 0 for lagSeconds"};
      }
      return std::optional<double>(threshold);
    }
  }
  return std::optional<double>();
}

}  // namespace

std::optional<int> locate_yaml_field(const std::string& text, int first_line,
                                     const std::string& field) {
  const std::vector<std::string> lines = split_lines(text);
  std::optional<int> found;  // 1-based line of the deepest key found so far
  std::size_t from = static_cast<std::size_t>(std::max(first_line - 1, 0));
  int parent_indent = -1;
  // Lines after `from` that belong to the block of the key at `from` (or the same line, for
  // flow mappings such as "scaleUp: {periodSeconds: 15}").
  auto in_block = [&](std::size_t i) {
    const bool same_line = found && static_cast<int>(i) + 1 == *found;
    return same_line || indentation(lines[i]) > parent_indent;
  };
  for (const PathKey& key : path_keys(field)) {
    const std::regex pattern("(^|[\\s{,-])" + regex_escaped(key.key) + "\\s*:");
    bool matched = false;
    for (std::size_t i = from; i < lines.size(); ++i) {
      if (lines[i].rfind("---", 0) == 0) break;  // the next document
      if (blank_or_comment(lines[i])) continue;
      if (!in_block(i)) break;
      if (std::regex_search(lines[i].substr(0, lines[i].find(" #")), pattern)) {
        found = static_cast<int>(i) + 1;
        parent_indent = indentation(lines[i]);
        from = i;
        matched = true;
        break;
      }
    }
    if (!matched) break;
    if (key.index) {
      // The n-th "- " item of the list (items may sit at the key's own indentation).
      int seen = -1;
      int list_indent = -1;
      for (std::size_t i = from + 1; i < lines.size() && seen < *key.index; ++i) {
        if (blank_or_comment(lines[i])) continue;
        const int indent = indentation(lines[i]);
        const bool item = list_item(lines[i]);
        if (indent < parent_indent || (indent == parent_indent && !item)) break;
        if (item && list_indent < 0) list_indent = indent;
        if (item && indent == list_indent && ++seen == *key.index) {
          found = static_cast<int>(i) + 1;
          from = i;
          parent_indent = indent;
        }
      }
      if (seen != *key.index) break;
    }
  }
  return found;
}

Result<SimulationSpec> load_simulation_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"InvalidSpec", path + ": cannot read spec file"};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  auto documents = kube::parse_yaml_documents(text, path);
  if (!documents) return documents.error();
  std::vector<const Json*> monitors;
  for (const Json& document : *documents) {
    if (document.is_object() && document.value("kind", Json()) == "QueueMonitor") {
      monitors.push_back(&document);
    }
  }
  if (monitors.size() != 1) {
    return Error{"InvalidSpec", path + ":1: kind: expected one QueueMonitor document, found " +
                                    std::to_string(monitors.size())};
  }
  const std::vector<int> starts = queue_monitor_documents(split_lines(text));
  const int first_line = starts.empty() ? 1 : starts.front();
  const Json& monitor = *monitors.front();
  if (!monitor.contains("spec")) {
    return Error{"InvalidSpec", path + ":" + std::to_string(first_line) + ": spec: required"};
  }

  auto parsed = api::parse_queue_monitor_spec(monitor["spec"]);
  if (!parsed) return spec_error(path, text, first_line, parsed.error());
  auto slo = lag_seconds_slo(parsed->slos);
  if (!slo) return spec_error(path, text, first_line, slo.error());

  SimulationSpec spec;
  spec.source = path;
  spec.monitor = std::move(*parsed);
  // The planner's objective (parse_queue_monitor_spec): a lagSeconds SLO with op <= or <.
  spec.lag_seconds_objective = spec.monitor.scaling.freshness_objective_seconds;
  return spec;
}

SimulationSpec default_simulation_spec() {
  const Json minimal = {
      {"source", {{"kafka", Json::object()}}},
      {"target", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "consumer"}}}};
  SimulationSpec spec;
  spec.source = "CRD defaults";
  spec.monitor = std::move(api::parse_queue_monitor_spec(minimal).value());
  return spec;
}

double objective_seconds(const SimulationSpec& spec, std::string* what) {
  if (spec.lag_seconds_objective) {
    if (what) *what = "the lagSeconds SLO";
    return *spec.lag_seconds_objective;
  }
  if (what) *what = "targetDrainSeconds";
  return scaler::objective_seconds(spec.monitor.scaling);
}

}  // namespace lagpilot::sim
