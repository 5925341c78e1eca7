#include "tensor/tensor.h"

#include <cstring>
#include <sstream>
#include <type_traits>

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
std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) HEMO_CHECK(d >= 0, "tensor shape ", shape_str(shape), " has a negative dimension");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
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

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return Tensor(make_impl(shape, dtype, device));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  zero_bytes(t.raw(), device, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
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
  return cat(dtype_name(dtype()), shape_str(shape()), " on ", device().str());
}

template <class T>
T* Tensor::data() const {
  HEMO_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ", str());
  return static_cast<T*>(raw());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template bf16* Tensor::data<bf16>() const;

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = to(Device::cpu()).to(dtype_of<T>());
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
  Tensor out = empty(shape(), dtype(), device());
  copy_bytes(out.raw(), device(), raw(), device(), nbytes());
  record(out, "clone", {*this}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
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
  Tensor out = empty(shape(), target, device());
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
  return Tensor(view);
}

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
