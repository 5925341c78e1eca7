// pooling (kernels/pooling.h): max_pool2d, avg_pool2d (counting the padding or not) and
// adaptive_avg_pool2d through nn/ops_pool.h. Windows: ResNet's stem pool, non-overlapping, ceil
// mode with windows past the input, unequal kernel / stride / padding per dimension, a stride
// larger than the kernel, 1x1; adaptive outputs smaller, equal to and larger than the input.
#include "nn/ops_pool.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

struct Window {
  nn::Pair k, s, p;
  bool ceil;
};
const Window kWindows[] = {
    {{3, 3}, {2, 2}, {1, 1}, false}, {{3, 3}, {2, 2}, {1, 1}, true},  {{2, 2}, {2, 2}, {0, 0}, false},
    {{2, 2}, {2, 2}, {0, 0}, true},  {{3, 3}, {1, 1}, {1, 1}, false}, {{3, 2}, {1, 2}, {1, 0}, false},
    {{3, 2}, {2, 1}, {1, 0}, true},  {{3, 2}, {1, 2}, {1, 1}, false}, {{3, 2}, {1, 2}, {1, 1}, true},
    {{5, 5}, {3, 3}, {2, 2}, true},  {{2, 2}, {3, 3}, {0, 0}, true},  {{1, 1}, {1, 1}, {0, 0}, false},
};
const std::vector<Shape> kShapes = {{2, 3, 7, 13}, {1, 1, 4, 4}, {3, 5, 7, 13}, {2, 3, 17, 9}};

std::string dims(nn::Pair v) { return v[0] == v[1] ? cat(v[0]) : cat(v[0], "x", v[1]); }
std::string py(nn::Pair v) { return py_pair(v[0], v[1]); }

OpCase pool_case(const std::string& name, Forward f, std::string torch) {
  OpCase c;
  c.name = name;
  c.inputs = {arg("x")};
  c.samples = each(kShapes);
  c.bench = {{1, 64, 112, 112}};  // ResNet's stem pool
  c.forward = std::move(f);
  c.torch = std::move(torch);
  c.tol.cuda_fwd = c.tol.cuda_bwd = 1e-6;
  return c;
}

const Registrar reg([] {
  for (const Window& w : kWindows) {
    const std::string tag = cat(".k", dims(w.k), "s", dims(w.s), "p", dims(w.p), w.ceil ? ".ceil" : "");
    const std::string args =
        cat("x, ", py(w.k), ", ", py(w.s), ", ", py(w.p), ", ceil_mode=", w.ceil ? "True" : "False");
    OpCase m = pool_case(
        "pooling.max" + tag, [w](const auto& in) { return nn::max_pool2d(in[0], w.k, w.s, w.p, w.ceil); },
        cat("F.max_pool2d(", args, ")"));
    m.kinks = true;                       // ties; none expected with random inputs
    m.tol.cuda_fwd = m.tol.cuda_bwd = 0;  // gathered gradients add in the reference's order
    add(std::move(m));
    for (bool include : {true, false}) {
      add(pool_case(
          cat("pooling.avg", tag, include ? "" : ".exclude_pad"),
          [w, include](const auto& in) { return nn::avg_pool2d(in[0], w.k, w.s, w.p, w.ceil, include); },
          cat("F.avg_pool2d(", args, ", count_include_pad=", include ? "True" : "False", ")")));
    }
  }
  for (nn::Pair o : {nn::Pair{1, 1}, nn::Pair{3, 5}, nn::Pair{4, 6}, nn::Pair{7, 7}, nn::Pair{7, 13}, nn::Pair{9, 14},
                     nn::Pair{9, 20}}) {
    OpCase a = pool_case(cat("pooling.adaptive_avg.", o[0], "x", o[1]),
                         [o](const auto& in) { return nn::adaptive_avg_pool2d(in[0], o); },
                         cat("F.adaptive_avg_pool2d(x, ", py(o), ")"));
    if (o == nn::Pair{1, 1}) a.bench = {{8, 1280, 7, 7}};  // the classifier's global pool
    add(std::move(a));
  }
});

}  // namespace
}  // namespace hemo::opcases
