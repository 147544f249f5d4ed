// lagpilot-demo: lagpilot end to end on this machine (see demo.h); scripts/demo builds and runs it.
#include <string>
#include <vector>

#include "tools/demo/demo.h"

int main(int argc, char** argv) {
  return lagpilot::demo::run_demo(std::vector<std::string>(argv + 1, argv + argc));
}
