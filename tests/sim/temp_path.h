#pragma once
// A file name under the test temp directory, per process: ctest runs the cases of one binary as
// parallel processes, and cases that wrote one shared name read each other's files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace lagpilot::sim {

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/lagpilot-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace lagpilot::sim
