// The backend tags. Every kernel takes its backend's tag as its first argument and the rest as
// they are written once in the op's header: the same overload set, `cpu::` beside `cuda::`. The
// tag's namespace is the kernel's, so an unqualified call finds the right one by argument-dependent
// lookup, and nn/dispatch.h writes each call once for both devices:
//
//   dispatch("batch_norm", x, [&](auto backend, auto t) {
//     using T = decltype(t);
//     batch_norm_eval_fwd(backend, BatchNormEval<T>{...});   // cpu:: or cuda::, float or double
//   });
//
// Arguments beyond a shape and a pointer or two travel as a small struct (kernels/<op>.h), so a
// call names every field (designated initializers) instead of lining up a dozen numbers.
#pragma once

namespace hemo::cpu {
struct Backend {};
inline constexpr Backend backend{};
}  // namespace hemo::cpu

namespace hemo::cuda {
struct Backend {};
inline constexpr Backend backend{};
}  // namespace hemo::cuda
