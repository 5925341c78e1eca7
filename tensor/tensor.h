// Tensor: a shape, a dtype, a device and a shared Storage, plus the autograd state
// (requires_grad, grad, grad_fn, hooks). Tensors are always contiguous row-major; the only views
// are reshape/flatten, which share storage and cost nothing. Copying a Tensor copies a handle:
// both refer to the same data, as in PyTorch.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/storage.h"

namespace hemo {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3, 7, 13]"
int64_t shape_numel(const Shape& s);

class Tensor;
struct Node;
using GradHook = std::function<Tensor(const Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::f32;
  // autograd state
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<Node> grad_fn;       // null for leaves
  std::shared_ptr<TensorImpl> grad;    // accumulated gradient of a leaf (or a retained one)
  std::vector<GradHook> hooks;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (new storage, requires_grad false) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);  // CPU copy
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string str() const;  // "float32[2, 3] on cpu"

  // ---- data ----
  void* raw() const { return impl().storage->data(); }
  template <class T> T* data() const;  // checks T against dtype (device pointer for CUDA tensors)
  template <class T> std::vector<T> to_vector() const;  // copies to host
  double item() const;                                  // a one-element tensor's value

  // ---- copies and views ----
  Tensor contiguous() const { return *this; }  // every tensor is contiguous
  Tensor reshape(const Shape& shape) const;    // a view; -1 infers one dim; differentiable
  Tensor flatten(int64_t start_dim = 1) const; // dims [start_dim, end) into one; differentiable
  Tensor clone() const;                        // new storage, same values; differentiable
  Tensor to(Device device) const;              // differentiable
  Tensor to(DType dtype) const;                // differentiable
  Tensor detach() const;                       // same storage, no autograd history

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);  // only on leaves
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const { return Tensor(impl().grad); }  // undefined until a backward reached it
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  void zero_grad() { impl().grad.reset(); }  // like PyTorch's set_to_none
  void retain_grad();                        // keep this non-leaf's gradient in grad()
  void register_hook(GradHook hook);         // sees (and may replace) the gradient
  // Backpropagates from this tensor. `grad` defaults to 1 for a one-element tensor.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace hemo
