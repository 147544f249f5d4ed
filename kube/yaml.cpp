#include "kube/yaml.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <sstream>

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
  if (std::regex_match(text, kFloat)) return std::stod(text);
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

}  // namespace

Result<std::vector<Json>> parse_yaml_documents(const std::string& text, const std::string& source) {
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
