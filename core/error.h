// hemo::Error: the one exception type the framework throws for a misuse or a bad input. Messages
// name the operation and what was wrong ("conv2d: input has 3 channels, weight expects 4").
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hemo {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An allocation that failed (host: core/host_memory.h; CUDA: core/cuda_memory.h). The message
// says how much was asked, how much hemo holds, and to try a smaller --batch-size.
struct OutOfMemory : Error {
  using Error::Error;
};

// Builds a message from streamable parts: throw Error(cat("shape ", a, " vs ", b)).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

#define HEMO_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) throw ::hemo::Error(::hemo::cat(__VA_ARGS__)); \
  } while (0)

}  // namespace hemo
