#include "nn/ops_optim.h"

#include "nn/dispatch.h"

namespace hemo::nn {

namespace {
void check_like(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  HEMO_CHECK(t.defined() && t.shape() == param.shape(), op, ": ", what, " must have the parameter's shape ",
             shape_str(param.shape()), ", got ", t.str());
}
}  // namespace

void sgd_update_(const SgdParams& h, Tensor& param, const Tensor& grad, Tensor& momentum_buf) {
  check_like("sgd_update_", param, grad, "grad");
  const bool momentum = h.momentum != 0;
  if (momentum) check_like("sgd_update_", param, momentum_buf, "momentum_buf");
  check_same_place("sgd_update_", {param, grad, momentum ? momentum_buf : Tensor()});
  dispatch("sgd_update_", param, [&](auto backend, auto t) {
    using T = decltype(t);
    sgd_update(backend, h, param.numel(), param.data<T>(), grad.data<T>(), momentum ? momentum_buf.data<T>() : nullptr);
  });
}

void adam_update_(const AdamParams& h, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) {
  check_like("adam_update_", param, grad, "grad");
  check_like("adam_update_", param, m, "m (exp_avg)");
  check_like("adam_update_", param, v, "v (exp_avg_sq)");
  check_same_place("adam_update_", {param, grad, m, v});
  HEMO_CHECK(h.step >= 1, "adam_update_: step must count from 1, got ", h.step);
  dispatch("adam_update_", param, [&](auto backend, auto t) {
    using T = decltype(t);
    adam_update(backend, h, param.numel(), param.data<T>(), grad.data<T>(), m.data<T>(), v.data<T>());
  });
}

namespace {
void check_lists(const char* op, size_t n, std::initializer_list<size_t> sizes) {
  for (size_t s : sizes) HEMO_CHECK(s == n, op, ": ", n, " parameters but a list of ", s);
}

// Every tensor (undefined ones aside) on the first parameter's dtype and device.
void check_one_place(const char* op, const std::vector<Tensor>& params, std::initializer_list<const std::vector<Tensor>*> lists) {
  if (params.empty()) return;
  const Tensor& first = params.front();
  for (const auto* list : lists)
    for (const Tensor& t : *list)
      if (t.defined())
        HEMO_CHECK(t.dtype() == first.dtype() && t.device() == first.device(), op, ": ", t.str(),
                   " is not on the first parameter's dtype and device (", first.str(), ")");
}

template <class T>
T* ptr_of(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
}  // namespace

void sgd_update_multi_(const std::vector<SgdParams>& h, std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                       std::vector<Tensor>& momentum_bufs, const void* consts) {
  const size_t n = params.size();
  check_lists("sgd_update_multi_", n, {h.size(), grads.size(), momentum_bufs.size()});
  for (size_t i = 0; i < n; ++i) {
    check_like("sgd_update_multi_", params[i], grads[i], "grad");
    if (h[i].momentum != 0) check_like("sgd_update_multi_", params[i], momentum_bufs[i], "momentum_buf");
  }
  check_one_place("sgd_update_multi_", params, {&params, &grads, &momentum_bufs});
  if (n == 0) return;
  dispatch("sgd_update_multi_", params.front(), [&](auto backend, auto t) {
    using T = decltype(t);
    std::vector<int64_t> sizes(n);
    std::vector<T*> p(n), b(n);
    std::vector<const T*> g(n);
    for (size_t i = 0; i < n; ++i) {
      sizes[i] = params[i].numel();
      p[i] = params[i].data<T>();
      g[i] = grads[i].data<T>();
      b[i] = h[i].momentum != 0 ? ptr_of<T>(momentum_bufs[i]) : nullptr;
    }
    sgd_update_multi(backend, h.data(),
                     MultiTensorArgs<T>{.count = n, .sizes = sizes.data(), .param = p.data(), .grad = g.data(),
                                        .buf1 = b.data(), .buf2 = nullptr, .consts = consts});
  });
}

void adam_update_multi_(const std::vector<AdamParams>& h, std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        std::vector<Tensor>& m, std::vector<Tensor>& v, const void* consts) {
  const size_t n = params.size();
  check_lists("adam_update_multi_", n, {h.size(), grads.size(), m.size(), v.size()});
  for (size_t i = 0; i < n; ++i) {
    check_like("adam_update_multi_", params[i], grads[i], "grad");
    check_like("adam_update_multi_", params[i], m[i], "m (exp_avg)");
    check_like("adam_update_multi_", params[i], v[i], "v (exp_avg_sq)");
    HEMO_CHECK(h[i].step >= 1, "adam_update_multi_: step must count from 1, got ", h[i].step);
  }
  check_one_place("adam_update_multi_", params, {&params, &grads, &m, &v});
  if (n == 0) return;
  dispatch("adam_update_multi_", params.front(), [&](auto backend, auto t) {
    using T = decltype(t);
    std::vector<int64_t> sizes(n);
    std::vector<T*> p(n), mp(n), vp(n);
    std::vector<const T*> g(n);
    for (size_t i = 0; i < n; ++i) {
      sizes[i] = params[i].numel();
      p[i] = params[i].data<T>();
      g[i] = grads[i].data<T>();
      mp[i] = m[i].data<T>();
      vp[i] = v[i].data<T>();
    }
    adam_update_multi(backend, h.data(),
                      MultiTensorArgs<T>{.count = n, .sizes = sizes.data(), .param = p.data(), .grad = g.data(),
                                         .buf1 = mp.data(), .buf2 = vp.data(), .consts = consts});
  });
}

}  // namespace hemo::nn
