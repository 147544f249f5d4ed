#pragma once
// What every fuzz target shares: an invariant check that aborts (so libFuzzer and the corpus
// regression driver both report it, with the input that broke it) and helpers on errors.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

#include "util/result.h"

// libFuzzer's entry point, defined once per target file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace lagpilot::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant failed: %s\n  %s\n", file, line, condition,
               detail.c_str());
  std::abort();
}

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// For parsers that read a path: `text` written to a scratch file of this process
// (lagpilot-fuzz-PID-NAME in the temporary folder), removed when the ScratchFile goes, so that
// neither libFuzzer nor the corpus driver leaves files behind. (A failed invariant aborts and
// keeps it: the input that broke it.)
class ScratchFile {
 public:
  ScratchFile(std::string_view text, const std::string& name)
      : path_((std::filesystem::temp_directory_path() /
               ("lagpilot-fuzz-" + std::to_string(::getpid()) + "-" + name))
                  .string()) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        .write(text.data(), static_cast<long>(text.size()));
  }
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An error is a value with a code and a message that starts with `prefix` (the field or file).
inline bool names(const Error& error, std::string_view code, std::string_view prefix) {
  return error.code == code && error.message.size() > prefix.size() &&
         std::string_view(error.message).substr(0, prefix.size()) == prefix;
}

}  // namespace lagpilot::fuzz

#define FUZZ_CHECK(condition, detail)                                                   \
  do {                                                                                  \
    if (!(condition)) ::lagpilot::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)
