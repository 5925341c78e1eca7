// Tensor: a shape, a dtype, a device, a memory format and a shared Storage, plus the autograd
// state (requires_grad, grad, grad_fn, hooks). Copying a Tensor copies a handle: both refer to the
// same data, as in PyTorch.
//
// Memory format. The shape is always the logical one ([N, C, H, W] for an image batch), and
// storage is dense, in one of two orders:
//   contiguous      row-major in the shape's order: element (n, c, h, w) at ((n C + c) H + h) W + w
//   channels_last   4-d only, row-major in (N, H, W, C) order: element (n, c, h, w) at
//                   ((n H + h) W + w) C + c (PyTorch's torch.channels_last, cuDNN's NHWC)
// data<T>() hands out contiguous storage only: an op that has not been taught channels_last gets a
// clear error, never silently transposed numbers. Ops that handle both orders read
// data_any_format<T>() and look at memory_format(); the others call contiguous() first. The only
// views are reshape/flatten, which share storage and cost nothing (on a channels_last tensor they
// copy to contiguous first).
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

enum class MemoryFormat : uint8_t { contiguous, channels_last };
const char* memory_format_name(MemoryFormat f);  // "contiguous", "channels_last"
// How many memory-format copies (Tensor::to(MemoryFormat), contiguous() of a channels_last tensor;
// not the views) this process has made, for tests and profiles that check where a model converts.
uint64_t memory_format_conversions();
using GradHook = std::function<Tensor(const Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::f32;
  MemoryFormat format = MemoryFormat::contiguous;
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
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(),
                      MemoryFormat format = MemoryFormat::contiguous);  // channels_last: 4-d shapes only
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);  // CPU copy
  // Same shape, dtype, device and memory format.
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device(), t.memory_format()); }
  static Tensor zeros_like(const Tensor& t);

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
  MemoryFormat memory_format() const { return impl().format; }
  bool is_channels_last() const { return impl().format == MemoryFormat::channels_last; }
  std::string str() const;  // "float32[2, 3] on cpu", "float32[2, 3, 4, 4] channels_last on cpu"

  // ---- data ----
  void* raw() const { return impl().storage->data(); }
  // Checks T against dtype and that the tensor is contiguous (device pointer for CUDA tensors).
  template <class T> T* data() const;
  // The same in storage order whatever the memory format, for ops that handle both.
  template <class T> T* data_any_format() const;
  template <class T> std::vector<T> to_vector() const;  // copies to host, in the contiguous order
  double item() const;                                  // a one-element tensor's value

  // ---- copies and views ----
  Tensor contiguous() const;                   // itself if contiguous, else a contiguous copy; differentiable
  // Itself if in that format, a view where both orders are the same bytes (one channel, or
  // H = W = 1), else a copy; differentiable.
  Tensor to(MemoryFormat format) const;
  Tensor reshape(const Shape& shape) const;    // a view; -1 infers one dim; differentiable
  Tensor flatten(int64_t start_dim = 1) const; // dims [start_dim, end) into one; differentiable
  Tensor clone() const;                        // new storage, same values and format; differentiable
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
