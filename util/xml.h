#pragma once
// Text for XML/SVG documents.
#include <string>
#include <string_view>

namespace lagpilot {

// `text` with &, <, > and " escaped, for element content and double-quoted attributes.
inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace lagpilot
