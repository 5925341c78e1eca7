#include "tensor/tensor.h"

#include <atomic>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "kernels/elementwise.h"
#include "kernels/layout.h"
#include "tensor/autograd.h"

namespace hemo {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

namespace {
std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device, MemoryFormat format) {
  for (int64_t d : shape) HEMO_CHECK(d >= 0, "tensor shape ", shape_str(shape), " has a negative dimension");
  HEMO_CHECK(format == MemoryFormat::contiguous || shape.size() == 4,
             "channels_last needs a 4-d [N, C, H, W] shape, got ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->format = format;
  HEMO_CHECK(device.is_cpu() || dtype != DType::f64, "float64 tensors exist only on the CPU (asked for ",
             dtype_name(dtype), " on ", device.str(), ")");
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  return impl;
}
}  // namespace

TensorImpl& Tensor::impl() const {
  HEMO_CHECK(impl_ != nullptr, "use of an undefined (empty) Tensor");
  return *impl_;
}

const char* memory_format_name(MemoryFormat f) {
  return f == MemoryFormat::channels_last ? "channels_last" : "contiguous";
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, MemoryFormat format) {
  return Tensor(make_impl(shape, dtype, device, format));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  zero_bytes(t.raw(), device, t.nbytes());
  return t;
}

Tensor Tensor::zeros_like(const Tensor& t) {
  Tensor z = empty_like(t);
  zero_bytes(z.raw(), z.device(), z.nbytes());
  return z;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  if (device.is_cuda() && dtype == DType::f32) {  // filled there: nothing uploaded (CUDA graphs capture it)
    Tensor t = empty(shape, dtype, device);
#if HEMO_WITH_CUDA
    cuda::fill(cuda::backend, t.numel(), value, t.data<float>());
#endif
    return t;
  }
  Tensor host = empty(shape, DType::f64, Device::cpu());
  double* p = host.data<double>();
  for (int64_t i = 0; i < host.numel(); ++i) p[i] = value;
  host = host.to(dtype);
  return device.is_cpu() ? host : host.to(device);
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  HEMO_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  int64_t i = d < 0 ? d + n : d;
  HEMO_CHECK(i >= 0 && i < n, "size(", d, ") out of range for a ", n, "-d tensor");
  return impl().shape[static_cast<size_t>(i)];
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return cat(dtype_name(dtype()), shape_str(shape()), is_channels_last() ? " channels_last" : "", " on ",
             device().str());
}

template <class T>
T* Tensor::data_any_format() const {
  HEMO_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ", str());
  return static_cast<T*>(raw());
}

template <class T>
T* Tensor::data() const {
  HEMO_CHECK(!is_channels_last(), "internal: an op that reads contiguous (NCHW) data was given a ", str(),
             "; it must call contiguous() first");
  return data_any_format<T>();
}
#define HEMO_TENSOR_DATA(T)                      \
  template T* Tensor::data<T>() const;           \
  template T* Tensor::data_any_format<T>() const;
HEMO_TENSOR_DATA(float)
HEMO_TENSOR_DATA(double)
HEMO_TENSOR_DATA(bf16)
#undef HEMO_TENSOR_DATA

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

double Tensor::item() const {
  HEMO_CHECK(numel() == 1, "item() needs a one-element tensor, got ", str());
  return to_vector<double>()[0];
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  if (is_channels_last()) return contiguous().reshape(new_shape);
  Shape shape = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      HEMO_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(new_shape));
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    HEMO_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 reshaping ", str(), " to ", shape_str(new_shape));
    shape[static_cast<size_t>(infer)] = numel() / known;
  }
  HEMO_CHECK(shape_numel(shape) == numel(), "reshape: ", str(), " cannot become ", shape_str(new_shape));
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->shape = shape;
  view->dtype = dtype();
  Tensor out(view);
  Shape in_shape = this->shape();
  record(out, "reshape", {*this}, [in_shape](const Tensor& g) -> std::vector<Tensor> {
    return {g.reshape(in_shape)};
  });
  return out;
}

Tensor Tensor::flatten(int64_t start_dim) const {
  int64_t n = dim();
  int64_t s = start_dim < 0 ? start_dim + n : start_dim;
  HEMO_CHECK(s >= 0 && s <= n, "flatten: start_dim ", start_dim, " out of range for ", str());
  Shape shape(this->shape().begin(), this->shape().begin() + s);
  int64_t rest = 1;
  for (int64_t i = s; i < n; ++i) rest *= this->shape()[static_cast<size_t>(i)];
  shape.push_back(rest);
  return reshape(shape);
}

Tensor Tensor::clone() const {
  Tensor out = empty_like(*this);
  copy_bytes(out.raw(), device(), raw(), device(), nbytes());
  record(out, "clone", {*this}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target, memory_format());
  if (device().is_cpu())
    upload_bytes(out.raw(), target, raw(), nbytes());  // queued: the host does not wait (core/storage.h)
  else
    copy_bytes(out.raw(), target, raw(), device(), nbytes());
  Device source = device();
  record(out, "to_device", {*this}, [source](const Tensor& g) -> std::vector<Tensor> { return {g.to(source)}; });
  return out;
}

namespace {
// Element-wise conversion between any two dtypes (float64 -> float32 and float -> bfloat16 round
// to nearest even; every other direction is exact).
template <class From>
double load(const void* p, int64_t i) {
  if constexpr (std::is_same_v<From, bf16>)
    return bf16_to_float(static_cast<const bf16*>(p)[i]);
  else
    return static_cast<const From*>(p)[i];
}
template <class From>
void convert_from(const void* src, DType target, void* dst, int64_t n) {
  switch (target) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) static_cast<float*>(dst)[i] = static_cast<float>(load<From>(src, i));
      return;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) static_cast<double*>(dst)[i] = load<From>(src, i);
      return;
    case DType::bf16:
      // float64 goes through float32: rounding twice can differ from rounding once by one unit
      // in a tie's last place, as in PyTorch's .to(bfloat16) of a float64 tensor.
      for (int64_t i = 0; i < n; ++i)
        static_cast<bf16*>(dst)[i] = bf16_from_float(static_cast<float>(load<From>(src, i)));
      return;
  }
}
}  // namespace

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  HEMO_CHECK(device().is_cpu(), "dtype conversion runs on the CPU only (", str(), ")");
  Tensor out = empty(shape(), target, device(), memory_format());
  switch (dtype()) {
    case DType::f32: convert_from<float>(raw(), target, out.raw(), numel()); break;
    case DType::f64: convert_from<double>(raw(), target, out.raw(), numel()); break;
    case DType::bf16: convert_from<bf16>(raw(), target, out.raw(), numel()); break;
  }
  DType source = dtype();
  record(out, "to_dtype", {*this}, [source](const Tensor& g) -> std::vector<Tensor> { return {g.to(source)}; });
  return out;
}

Tensor Tensor::detach() const {
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->shape = shape();
  view->dtype = dtype();
  view->format = memory_format();
  return Tensor(view);
}

namespace {
std::atomic<uint64_t> g_conversions{0};

// A copy of t in `format`: batches of [C, H W] <-> [H W, C] transposes (kernels/layout.h).
Tensor relayout(const Tensor& t, MemoryFormat format) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device(), format);
  g_conversions.fetch_add(1, std::memory_order_relaxed);
  const int64_t n = t.size(0), c = t.size(1), hw = t.size(2) * t.size(3);
  const bool to_last = format == MemoryFormat::channels_last;
  const int64_t rows = to_last ? c : hw, cols = to_last ? hw : c;
  if (t.is_cuda()) {
#if HEMO_WITH_CUDA
    cuda::transpose_batched(cuda::backend, dtype_size(t.dtype()), n, rows, cols, t.raw(), out.raw());
#else
    throw Error(cat("memory format conversion: CUDA tensor in a build without CUDA: ", t.str()));
#endif
  } else {
    cpu::transpose_batched(cpu::backend, dtype_size(t.dtype()), n, rows, cols, t.raw(), out.raw());
  }
  return out;
}
}  // namespace

Tensor Tensor::to(MemoryFormat format) const {
  if (format == memory_format()) return *this;
  HEMO_CHECK(dim() == 4, "to(channels_last) needs a 4-d [N, C, H, W] tensor, got ", str());
  Tensor out;
  if (dim() == 4 && (size(1) == 1 || size(2) * size(3) == 1)) {
    // One channel, or one pixel ([N, C, 1, 1] after global pooling): both orders are the same
    // bytes, so a view with the other label, no copy.
    out = detach();
    out.impl().format = format;
  } else {
    out = relayout(*this, format);
  }
  const MemoryFormat source = memory_format();
  record(out, format == MemoryFormat::channels_last ? "to_channels_last" : "contiguous", {*this},
         [source](const Tensor& g) -> std::vector<Tensor> { return {g.to(source)}; });
  return out;
}

uint64_t memory_format_conversions() { return g_conversions.load(std::memory_order_relaxed); }

Tensor Tensor::contiguous() const { return to(MemoryFormat::contiguous); }

Tensor& Tensor::requires_grad_(bool on) {
  HEMO_CHECK(is_leaf() || on, "requires_grad_(false) on a non-leaf tensor; use detach()");
  impl().requires_grad = on;
  return *this;
}

void Tensor::retain_grad() {
  HEMO_CHECK(requires_grad(), "retain_grad() on a tensor that does not require grad");
  impl().retains_grad = true;
}

void Tensor::register_hook(GradHook hook) {
  HEMO_CHECK(requires_grad(), "register_hook() on a tensor that does not require grad");
  impl().hooks.push_back(std::move(hook));
}

}  // namespace hemo
