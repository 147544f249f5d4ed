#pragma once
// The Prometheus text format (0.0.4) as a scraper reads it, parsed strictly enough to catch
// malformed output: for the suites that check what lagpilot's /metrics serves.
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lagpilot::testkit {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram, ...
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
  std::vector<std::string> errors;

  // Samples named `name` whose labels include every pair of `match`.
  std::vector<Sample> find(const std::string& name, const Labels& match = {}) const {
    std::vector<Sample> found;
    for (const auto& sample : samples) {
      if (sample.name != name) continue;
      bool all = true;
      for (const auto& [key, value] : match) {
        auto it = sample.labels.find(key);
        all = all && it != sample.labels.end() && it->second == value;
      }
      if (all) found.push_back(sample);
    }
    return found;
  }
  // The value of the one sample with exactly these labels.
  std::optional<double> value(const std::string& name, const Labels& labels) const {
    for (const auto& sample : samples) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }
  // Every sample that carries the monitor's labels, whatever its name.
  std::vector<Sample> of_monitor(const std::string& ns, const std::string& name) const {
    std::vector<Sample> found;
    for (const auto& sample : samples) {
      auto n = sample.labels.find("namespace");
      auto m = sample.labels.find("name");
      if (n != sample.labels.end() && m != sample.labels.end() && n->second == ns &&
          m->second == name) {
        found.push_back(sample);
      }
    }
    return found;
  }
};

inline Exposition parse_exposition(const std::string& text) {
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.rfind("# ", 0) == 0) {
      std::istringstream words(line.substr(2));
      std::string kind, name, rest;
      words >> kind >> name;
      std::getline(words, rest);
      if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
      if (kind == "TYPE") {
        if (out.types.count(name)) out.errors.push_back("second TYPE line: " + line);
        out.types[name] = rest;
      } else if (kind == "HELP") {
        out.help[name] = rest;
      }
      continue;
    }
    Sample sample;
    std::size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    sample.name = line.substr(0, pos);
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        std::size_t eq = line.find('=', pos);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          out.errors.push_back("bad label in: " + line);
          break;
        }
        std::string key = line.substr(pos, eq - pos);
        std::string value;
        pos = eq + 2;
        while (pos < line.size() && line[pos] != '"') {
          if (line[pos] == '\\' && pos + 1 < line.size()) {
            ++pos;
            value += line[pos] == 'n' ? '\n' : line[pos];
          } else {
            value += line[pos];
          }
          ++pos;
        }
        ++pos;  // the closing quote
        if (sample.labels.count(key)) out.errors.push_back("label twice in: " + line);
        sample.labels[key] = value;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      ++pos;  // '}'
    }
    if (pos >= line.size() || line[pos] != ' ') {
      out.errors.push_back("no value in: " + line);
      continue;
    }
    std::string number = line.substr(pos + 1);
    if (auto space = number.find(' '); space != std::string::npos) number.resize(space);
    try {
      std::size_t used = 0;
      sample.value = std::stod(number, &used);
      if (used != number.size()) throw std::invalid_argument(number);
    } catch (const std::exception&) {
      out.errors.push_back("bad value in: " + line);
      continue;
    }
    out.samples.push_back(sample);
  }
  // Every sample belongs to a family with a TYPE line (histograms: _bucket, _sum, _count).
  for (const auto& sample : out.samples) {
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (!out.types.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          out.types.count(family.substr(0, family.size() - s.size()))) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    if (!out.types.count(family)) out.errors.push_back("no TYPE for " + sample.name);
  }
  return out;
}

}  // namespace lagpilot::testkit
