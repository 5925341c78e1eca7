// Pair: two sizes of a 2-d op or layer, {height, width} (kernel, stride, padding, dilation,
// output size), as torch's int-or-tuple arguments are.
#pragma once
#include <array>
#include <cstdint>

namespace hemo::nn {

using Pair = std::array<int64_t, 2>;

}  // namespace hemo::nn
