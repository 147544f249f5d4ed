#include "kube/yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>

namespace lagpilot::kube {
namespace {

Json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return text;  // quoted
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    return nullptr;
  if (std::regex_match(text, kInt)) {
    try {
      return std::stoll(text);
    } catch (...) {
      return text;
    }
  }
  if (std::regex_match(text, kFloat)) {
    try {
      return std::stod(text);
    } catch (const std::out_of_range&) {
      return text;  // beyond a double (1e999, 1e-999): the field's parser says "must be a number"
    }
  }
  return text;
}

Json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      for (const auto& item : node) array.push_back(to_json(item));
      return array;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& entry : node) object[entry.first.as<std::string>()] = to_json(entry.second);
      return object;
    }
  }
  return nullptr;
}

// yaml-cpp 0.7.0's YAML::LoadAll (Debian 12) never returns, its memory growing without bound, on
// a document that starts with a quoted scalar directly followed by ',' (e.g. a file that is just
// `"a",`), which is not valid YAML anyway. The 1-based line of the first such scalar; nullopt when
// there is none.
std::optional<int> yaml_cpp_trap_line(std::string_view text) {
  int line = 1;
  bool document_start = true;  // no content yet in this document
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t end = std::min(text.find('\n', i), text.size());
    std::string_view content = text.substr(i, end - i);
    if (content.starts_with("---")) {
      document_start = true;
      content.remove_prefix(3);
    }
    const std::size_t first = content.find_first_not_of(" \t\r");
    if (document_start && first != std::string_view::npos && content[first] != '#' &&
        content[first] != '%') {
      document_start = false;
      const char quote = content[first];
      if (quote == '"' || quote == '\'') {
        // The scalar may span lines: search the whole text from its opening quote.
        std::size_t j = static_cast<std::size_t>(content.data() - text.data()) + first + 1;
        for (; j < text.size(); ++j) {
          if (quote == '"' && text[j] == '\\') {
            ++j;
          } else if (text[j] == quote) {
            if (quote == '\'' && j + 1 < text.size() && text[j + 1] == '\'') {
              ++j;
            } else {
              break;
            }
          }
        }
        if (j + 1 < text.size() && text[j + 1] == ',') return line;
      }
    }
    i = end + 1;
    ++line;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<Json>> parse_yaml_documents(const std::string& text, const std::string& source) {
  if (auto line = yaml_cpp_trap_line(text)) {
    return Error{"InvalidYaml", source + ":" + std::to_string(*line) +
                                    ": a quoted scalar followed by ',' outside [ ] or { }"};
  }
  try {
    std::vector<Json> documents;
    for (const auto& node : YAML::LoadAll(text)) {
      Json document = to_json(node);
      if (!document.is_null()) documents.push_back(std::move(document));
    }
    return documents;
  } catch (const YAML::Exception& e) {
    return Error{"InvalidYaml", source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
}

Result<std::vector<Json>> read_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"InvalidYaml", path + ": cannot read file"};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml_documents(buffer.str(), path);
}

}  // namespace lagpilot::kube
