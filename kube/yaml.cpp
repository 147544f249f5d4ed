#include "kube/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

namespace lagpilot::kube {
namespace {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// above U+10FFFF), as JSON and the API server require.
bool is_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the valid range of the second byte
    if (byte < 0x80) {
      ++i;
      continue;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      if (byte == 0xE0) low = 0xA0;
      if (byte == 0xED) high = 0x9F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      if (byte == 0xF0) low = 0x90;
      if (byte == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

// A scalar's or key's text; not UTF-8 is an error at its line (every later consumer, JSON
// included, assumes UTF-8; found by fuzz_queuemonitor_spec).
const std::string& utf8_text(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (!is_utf8(text)) throw YAML::Exception(node.Mark(), "a value that is not UTF-8");
  return text;
}

Json scalar_to_json(const YAML::Node& node) {
  const std::string& text = utf8_text(node);
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
    } catch (const std::out_of_range&) {
    }
    // Beyond 64 bits signed: what a JSON parser makes of it (unsigned up to 2^64 - 1, then a
    // double), so that the field's parser says it is out of range rather than not a number.
    try {
      if (text[0] != '-') return std::stoull(text);
    } catch (const std::out_of_range&) {
    }
    try {
      return std::stod(text);
    } catch (const std::out_of_range&) {
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
      for (const auto& entry : node) {
        if (!entry.first.IsScalar())
          throw YAML::Exception(entry.first.Mark(), "a key that is not a string");
        object[utf8_text(entry.first)] = to_json(entry.second);
      }
      return object;
    }
  }
  return nullptr;
}

// yaml-cpp 0.7.0's YAML::LoadAll (Debian 12) never returns, its memory growing without bound,
// when a ',' stands outside any [ ] or { } at the top of a document (`,`, `"a",`, `[a],`: not
// valid YAML): each further document it reads is empty and consumes nothing. A first pass with
// events only finds that document, by a document start that did not move; the 1-based line of it,
// or nullopt when every document makes progress. Found by fuzz_queuemonitor_spec
// (fuzz/corpus/queuemonitor_spec/crash-yaml-cpp-hang-*).
class DocumentProgress : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    stalled_ = started_ && mark.pos == last_start_;
    started_ = true;
    last_start_ = mark.pos;
    line_ = mark.line + 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  bool stalled() const { return stalled_; }
  int line() const { return line_; }

 private:
  bool started_ = false;
  bool stalled_ = false;
  int last_start_ = -1;
  int line_ = 0;
};

std::optional<int> yaml_cpp_trap_line(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProgress progress;
  while (parser.HandleNextDocument(progress)) {
    if (progress.stalled()) return progress.line();
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<Json>> parse_yaml_documents(const std::string& text, const std::string& source) {
  try {
    if (auto line = yaml_cpp_trap_line(text)) {
      return Error{"InvalidYaml",
                   source + ":" + std::to_string(*line) + ": ',' outside [ ] or { }"};
    }
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
