// CUDA parameter updates (the contract is kernels/optim.h): the reference's per-element
// arithmetic, with the same constants (kernels/optim.h's sgd_consts / adam_consts) computed on the
// host, passed in the kernel's argument or read from device memory (MultiTensorArgs::consts). The single- and
// multi-tensor kernels share the per-element functions, so they give the same bits.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/optim.h"

namespace hemo::cuda {

namespace {
template <class T>
__device__ inline void sgd_element(const SgdConsts<T>& h, int64_t i, T* __restrict__ param, const T* __restrict__ grad,
                                   T* __restrict__ buf) {
  T g = grad[i] + h.wd * param[i];
  if (h.mom != T(0)) {
    buf[i] = h.first_step ? g : h.mom * buf[i] + h.damp * g;
    g = h.nesterov ? g + h.mom * buf[i] : buf[i];
  }
  param[i] -= h.lr * g;
}

template <class T>
__global__ void sgd_kernel(SgdConsts<T> h, int64_t n, T* __restrict__ param, const T* __restrict__ grad,
                           T* __restrict__ buf) {
  for (int64_t i : grid_stride(n)) sgd_element(h, i, param, grad, buf);
}

template <class T>
__device__ inline void adam_element(const AdamConsts<T>& h, int64_t i, T* __restrict__ param, const T* __restrict__ grad,
                                    T* __restrict__ m, T* __restrict__ v) {
  T g = grad[i];
  T p = param[i];
  if (h.decoupled)
    p *= h.decay;
  else
    g += h.wd * p;
  const T mi = h.b1 * m[i] + (T(1) - h.b1) * g;
  const T vi = h.b2 * v[i] + (T(1) - h.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = p - h.step_size * mi / (sqrt(vi) / h.sqrt_bc2 + h.eps);
}

template <class T>
__global__ void adam_kernel(AdamConsts<T> h, int64_t n, T* __restrict__ param, const T* __restrict__ grad,
                            T* __restrict__ m, T* __restrict__ v) {
  for (int64_t i : grid_stride(n)) adam_element(h, i, param, grad, m, v);
}

// Up to kMultiTensorChunk tensors, passed by value as a kernel argument (under the 4 KiB limit:
// about 2.4 KiB for Adam's table). Tensor t covers the flat range [start[t], start[t + 1]).
template <class T, class Consts>
struct Table {
  int count;
  int64_t start[kMultiTensorChunk + 1];
  T* param[kMultiTensorChunk];
  const T* grad[kMultiTensorChunk];
  T* buf1[kMultiTensorChunk];
  T* buf2[kMultiTensorChunk];
  Consts k[kMultiTensorChunk];
  const Consts* kd[kMultiTensorChunk];  // when set: the constants in device memory (MultiTensorArgs::consts)
};

template <class T>
__global__ void sgd_multi_kernel(Table<T, SgdConsts<T>> tab) {
  for (int64_t i : grid_stride(tab.start[tab.count])) {
    const int t = tensor_of(tab, i);
    sgd_element(tab.kd[t] ? *tab.kd[t] : tab.k[t], i - tab.start[t], tab.param[t], tab.grad[t], tab.buf1[t]);
  }
}

template <class T>
__global__ void adam_multi_kernel(Table<T, AdamConsts<T>> tab) {
  for (int64_t i : grid_stride(tab.start[tab.count])) {
    const int t = tensor_of(tab, i);
    adam_element(tab.kd[t] ? *tab.kd[t] : tab.k[t], i - tab.start[t], tab.param[t], tab.grad[t], tab.buf1[t],
                 tab.buf2[t]);
  }
}

// Fills a table per chunk of the arguments and calls launch(table) for it; empty tensors are left out.
template <class T, class Consts, class Params, class MakeConsts, class Launch>
void for_each_chunk(const Params* h, const MultiTensorArgs<T>& a, MakeConsts make, Launch launch) {
  Table<T, Consts> tab{};
  auto flush = [&] {
    if (tab.count > 0 && tab.start[tab.count] > 0) launch(tab);
    tab = Table<T, Consts>{};
  };
  for (size_t i = 0; i < a.count; ++i) {
    if (a.sizes[i] == 0) continue;
    const int t = tab.count;
    tab.param[t] = a.param[i];
    tab.grad[t] = a.grad[i];
    tab.buf1[t] = a.buf1 ? a.buf1[i] : nullptr;
    tab.buf2[t] = a.buf2 ? a.buf2[i] : nullptr;
    if (a.consts)
      tab.kd[t] = static_cast<const Consts*>(a.consts) + i;
    else
      tab.k[t] = make(h[i]);
    tab.start[t + 1] = tab.start[t] + a.sizes[i];
    if (++tab.count == static_cast<int>(kMultiTensorChunk)) flush();
  }
  flush();
}
}  // namespace

template <class T>
void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* momentum_buf) {
  if (n == 0) return;
  HEMO_LAUNCH(sgd_kernel<T>, grid_for(n, kThreads), kThreads, 0, sgd_consts<T>(h), n, param, grad, momentum_buf);
}

template <class T>
void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v) {
  if (n == 0) return;
  HEMO_LAUNCH(adam_kernel<T>, grid_for(n, kThreads), kThreads, 0, adam_consts<T>(h), n, param, grad, m, v);
}

template <class T>
void sgd_update_multi(Backend, const SgdParams* h, const MultiTensorArgs<T>& a) {
  for_each_chunk<T, SgdConsts<T>>(h, a, sgd_consts<T>, [](const Table<T, SgdConsts<T>>& tab) {
    const int64_t n = tab.start[tab.count];
    HEMO_LAUNCH(sgd_multi_kernel<T>, grid_for(n, kThreads), kThreads, 0, tab);
  });
}

template <class T>
void adam_update_multi(Backend, const AdamParams* h, const MultiTensorArgs<T>& a) {
  for_each_chunk<T, AdamConsts<T>>(h, a, adam_consts<T>, [](const Table<T, AdamConsts<T>>& tab) {
    const int64_t n = tab.start[tab.count];
    HEMO_LAUNCH(adam_multi_kernel<T>, grid_for(n, kThreads), kThreads, 0, tab);
  });
}

template void sgd_update<float>(Backend, const SgdParams&, int64_t, float*, const float*, float*);
template void adam_update<float>(Backend, const AdamParams&, int64_t, float*, const float*, float*, float*);
template void sgd_update_multi<float>(Backend, const SgdParams*, const MultiTensorArgs<float>&);
template void adam_update_multi<float>(Backend, const AdamParams*, const MultiTensorArgs<float>&);

}  // namespace hemo::cuda
