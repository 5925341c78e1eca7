// concat (kernels/concat.h): channel concatenation of three inputs of different channel counts
// (NCHW, and [N, C] as a classifier's features would be), and channel slices (an interior range
// and a range at the end).
#include "nn/ops_concat.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

OpCase copy_case(const std::string& name, Forward f, std::string torch) {
  OpCase c;
  c.name = name;
  c.forward = std::move(f);
  c.torch = std::move(torch);
  c.tol.cuda_fwd = c.tol.cuda_bwd = 0;  // copies: bit for bit
  return c;
}

const Registrar reg([] {
  OpCase cat3 = copy_case(
      "concat.channels", [](const std::vector<Tensor>& in) { return nn::concat_channels(in); },
      "torch.cat([a, b, c], 1)");
  cat3.inputs = {arg("a"), arg("b"), arg("c")};
  cat3.samples = {{{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 4, 4, 5}}, {{3, 2}, {3, 5}, {3, 1}}, {{1, 2, 7, 3}, {1, 6, 7, 3}, {1, 1, 7, 3}}};
  cat3.bench = {{8, 256, 28, 28}, {8, 32, 28, 28}, {8, 32, 28, 28}};  // a DenseNet-121 block's join
  add(std::move(cat3));

  for (auto [begin, end] : {std::pair<int64_t, int64_t>{1, 4}, {3, 6}}) {
    OpCase s = copy_case(
        cat("concat.slice.c", begin, "_", end),
        [begin, end](const std::vector<Tensor>& in) { return nn::slice_channels(in[0], begin, end); },
        cat("x[:, ", begin, ":", end, "]"));
    s.inputs = {arg("x")};
    s.samples = each({{2, 6, 4, 5}, {3, 6}, {1, 6, 3, 7}});
    s.bench = {{8, 6, 112, 112}};
    add(std::move(s));
  }
});

}  // namespace
}  // namespace hemo::opcases
