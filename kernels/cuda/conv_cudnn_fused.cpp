// A convolution with its epilogue, or with its output's statistics, as one cuDNN graph (contracts in
// kernels/cuda/conv_cudnn.h: cudnn_conv_fwd_fused, cudnn_conv_fwd_stats), through the backend
// ("graph") API: tensors, a convolution node and pointwise or genstats nodes, an operation graph,
// heuristics' engine configurations, an execution plan, and per call a variant pack naming the
// device pointers by the tensors' unique ids.
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"

#if HEMO_WITH_CUDNN
#include "core/cuda/check.h"
#include "core/cuda/device_buffer.h"
#include "kernels/cuda/cudnn_handle.h"
#endif

namespace hemo::cuda {

namespace {
std::mutex g_mu;
CudnnFusionStats g_stats;
}  // namespace

CudnnFusionStats cudnn_fusion_stats() {
  std::lock_guard lock(g_mu);
  return g_stats;
}

#if !HEMO_WITH_CUDNN

bool cudnn_conv_fwd_fused(const Conv2dShape&, DType, const void*, const void*, const ConvEpilogue<float>&, float*) {
  return false;
}
bool cudnn_conv_fwd_stats(const Conv2dShape&, DType, const void*, const void*, void*, float*, float*) { return false; }

#else

namespace {

// One backend descriptor, destroyed with this object.
class Desc {
 public:
  explicit Desc(cudnnBackendDescriptorType_t type) { HEMO_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_)); }
  ~Desc() {
    if (d_) cudnnBackendDestroyDescriptor(d_);
  }
  Desc(Desc&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  Desc& operator=(Desc&&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  template <class V>
  Desc& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const V* values, int64_t count = 1) {
    HEMO_CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, type, count, values));
    return *this;
  }
  Desc& set(cudnnBackendAttributeName_t name, const Desc& other) {
    const cudnnBackendDescriptor_t v = other.get();
    return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, &v);
  }
  void finalize() { HEMO_CUDNN_CHECK(cudnnBackendFinalize(d_)); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

// The tensors' unique ids, which the variant pack pairs with pointers.
enum Uid : int64_t { kX = 1, kW, kY, kBias, kA, kS, kR, kSum, kSqsum, kFirstVirtual = 100 };

// A 4-d tensor [d0, d1, d2, d3] with the given strides.
Desc tensor(int64_t uid, cudnnDataType_t type, const std::array<int64_t, 4>& dims,
            const std::array<int64_t, 4>& strides, bool is_virtual) {
  Desc d(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t alignment = 16;
  const bool virt = is_virtual;
  d.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &type)
      .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims.data(), 4)
      .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides.data(), 4)
      .set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid)
      .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &alignment)
      .set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &virt);
  d.finalize();
  return d;
}

// Strides of an [n, c, h, w] tensor stored NCHW, or NHWC when channels-last.
std::array<int64_t, 4> strides_of(int64_t c, int64_t h, int64_t w, bool channels_last) {
  if (channels_last) return {h * w * c, 1, w * c, c};
  return {c * h * w, h * w, w, 1};
}

// A pointwise node: y = mode(x, b) (b absent for an activation).
Desc pointwise(cudnnPointwiseMode_t mode, const Desc& x, const Desc* b, const Desc& y, double upper_clip = 0) {
  Desc pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
  pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &mode)
      .set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &prec);
  if (upper_clip > 0) {
    const double lower = 0;
    pw.set(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, CUDNN_TYPE_DOUBLE, &lower)
        .set(CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, &upper_clip);
  }
  pw.finalize();
  Desc op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw).set(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
  if (b) op.set(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
  op.finalize();
  return op;
}

// What a plan is cached under: the device, the shape, the type, and the graph's form (the
// epilogue's parts, or the statistics).
using Key = std::tuple<int, std::vector<int64_t>, int, bool, int>;

struct Plan {
  std::optional<Desc> plan;
  int64_t workspace = 0;
  std::vector<int64_t> uids;  // the real tensors the variant pack names, in the order of the call's pointers
};

// The graph's first node: v = conv_fprop(x, w), x and w in the type cuDNN computes in (io).
Desc conv_fprop(const Conv2dShape& g, const Desc& x, const Desc& w, const Desc& v) {
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  Desc conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t dims = 2, pad[2] = {g.pad_h, g.pad_w}, stride[2] = {g.stride_h, g.stride_w},
                dil[2] = {g.dil_h, g.dil_w};
  conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &f32)
      .set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, &mode)
      .set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, &dims)
      .set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, pad, 2)
      .set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, pad, 2)
      .set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, stride, 2)
      .set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, dil, 2);
  conv.finalize();
  const float alpha = 1, beta = 0;
  Desc op(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, v)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, &alpha)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, &beta);
  op.finalize();
  return op;
}

// x [n, c, h, w] and the weight [k, c, r, s] (channels-last hands it in cuDNN's [k, r, s, c] order).
void input_tensors(const Conv2dShape& g, cudnnDataType_t io, std::vector<Desc>& tensors) {
  const bool cl = g.channels_last;
  tensors.push_back(tensor(kX, io, {g.n, g.c, g.h, g.w}, strides_of(g.c, g.h, g.w, cl), false));
  tensors.push_back(tensor(kW, io, {g.k, g.c, g.r, g.s}, strides_of(g.c, g.r, g.s, cl), false));
}

// The operation graph of `ops`, and its plan: heuristics mode A's first engine configuration that
// finalizes within the workspace limit. Fills plan's descriptor and workspace; false (and `why`)
// when none does.
bool finalize_plan(const std::vector<Desc>& ops, Plan& plan, std::string& why) {
  cudnnHandle_t handle = cudnn_handle();
  Desc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  std::vector<cudnnBackendDescriptor_t> op_list;
  for (const Desc& op : ops) op_list.push_back(op.get());
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, op_list.data(),
            static_cast<int64_t>(op_list.size()))
      .set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &handle);
  if (cudnnBackendFinalize(graph.get()) != CUDNN_STATUS_SUCCESS) {
    why = "cuDNN does not support this operation graph";
    return false;
  }

  Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  const cudnnBackendHeurMode_t heur_mode = CUDNN_HEUR_MODE_A;
  heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph)
      .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &heur_mode);
  if (cudnnBackendFinalize(heur.get()) != CUDNN_STATUS_SUCCESS) {
    why = "cuDNN's heuristics have no engine for this graph";
    return false;
  }
  int64_t count = 0;
  HEMO_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                            &count, nullptr));
  std::vector<Desc> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(configs.back().get());
  }
  if (count > 0)
    HEMO_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                              count, &count, raw.data()));
  for (int64_t i = 0; i < count; ++i) {
    Desc candidate(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    candidate.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &handle)
        .set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[static_cast<size_t>(i)]);
    if (cudnnBackendFinalize(candidate.get()) != CUDNN_STATUS_SUCCESS) continue;
    int64_t workspace = 0;
    HEMO_CUDNN_CHECK(cudnnBackendGetAttribute(candidate.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                              CUDNN_TYPE_INT64, 1, nullptr, &workspace));
    if (workspace < 0 || static_cast<size_t>(workspace) > cudnn_workspace_limit()) continue;
    plan.plan.emplace(std::move(candidate));
    plan.workspace = workspace;
    return true;
  }
  why = cat("none of the ", count, " engine configurations of cuDNN's heuristics finalizes within the workspace limit");
  return false;
}

cudnnDataType_t io_type(DType t) { return t == DType::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }

// The epilogue graph (cudnn_conv_fwd_fused); nullptr (and `why`) when refused.
std::unique_ptr<Plan> make_plan(const Conv2dShape& g, DType t, const ConvEpilogue<float>& e, std::string& why) {
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  const bool cl = g.channels_last;
  const int64_t p = g.p(), q = g.q();
  const std::array<int64_t, 4> ydims{g.n, g.k, p, q}, ystrides = strides_of(g.k, p, q, cl);
  const std::array<int64_t, 4> vec_dims{1, g.k, 1, 1}, vec_strides{g.k, 1, cl ? g.k : 1, cl ? g.k : 1};
  auto plan = std::make_unique<Plan>();

  std::vector<Desc> tensors;  // kept alive until the graph is finalized
  input_tensors(g, io_type(t), tensors);
  plan->uids = {kX, kW};

  // The chain of nodes: each step's output is virtual, but the last one, which is y.
  const int steps = (e.bias ? 1 : 0) + (e.batch_norm() ? 2 : 0) + (e.r ? 1 : 0) + (e.act != BnAct::none ? 1 : 0);
  int64_t next_virtual = kFirstVirtual;
  int done = 0;
  tensors.reserve(tensors.size() + 2 * static_cast<size_t>(steps) + 4);  // out_tensor's references stay valid
  auto out_tensor = [&]() -> const Desc& {
    const bool last = ++done == steps + 1;
    tensors.push_back(tensor(last ? kY : next_virtual++, f32, ydims, ystrides, !last));
    return tensors.back();
  };
  std::vector<Desc> ops;
  {
    const Desc& v = out_tensor();
    ops.push_back(conv_fprop(g, tensors[0], tensors[1], v));
  }
  size_t last = tensors.size() - 1;  // the latest output
  auto binary = [&](cudnnPointwiseMode_t m, int64_t uid, bool per_channel) {
    tensors.push_back(tensor(uid, f32, per_channel ? vec_dims : ydims, per_channel ? vec_strides : ystrides, false));
    plan->uids.push_back(uid);
    const size_t operand = tensors.size() - 1, in = last;
    const Desc& out = out_tensor();
    ops.push_back(pointwise(m, tensors[in], &tensors[operand], out));
    last = tensors.size() - 1;
  };
  if (e.bias) binary(CUDNN_POINTWISE_ADD, kBias, true);
  if (e.batch_norm()) {
    binary(CUDNN_POINTWISE_MUL, kA, true);
    binary(CUDNN_POINTWISE_ADD, kS, true);
  }
  if (e.r) binary(CUDNN_POINTWISE_ADD, kR, false);
  if (e.act != BnAct::none) {
    const size_t in = last;
    const Desc& out = out_tensor();
    ops.push_back(pointwise(CUDNN_POINTWISE_RELU_FWD, tensors[in], nullptr, out, e.act == BnAct::relu6 ? 6.0 : 0.0));
  }
  plan->uids.push_back(kY);
  if (!finalize_plan(ops, *plan, why)) return nullptr;
  return plan;
}

// The statistics graph (cudnn_conv_fwd_stats): y = conv_fprop(x, w) in the io type, written, and
// genstats(y) -> sum, sqsum [1, k, 1, 1] float32; nullptr (and `why`) when refused.
std::unique_ptr<Plan> make_stats_plan(const Conv2dShape& g, DType t, std::string& why) {
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  const bool cl = g.channels_last;
  const std::array<int64_t, 4> vec_dims{1, g.k, 1, 1}, vec_strides{g.k, 1, cl ? g.k : 1, cl ? g.k : 1};
  auto plan = std::make_unique<Plan>();
  std::vector<Desc> tensors;
  tensors.reserve(5);
  input_tensors(g, io_type(t), tensors);
  tensors.push_back(tensor(kY, io_type(t), {g.n, g.k, g.p(), g.q()}, strides_of(g.k, g.p(), g.q(), cl), false));
  tensors.push_back(tensor(kSum, f32, vec_dims, vec_strides, false));
  tensors.push_back(tensor(kSqsum, f32, vec_dims, vec_strides, false));
  plan->uids = {kX, kW, kY, kSum, kSqsum};

  std::vector<Desc> ops;
  ops.push_back(conv_fprop(g, tensors[0], tensors[1], tensors[2]));
  Desc stats(CUDNN_BACKEND_OPERATION_GEN_STATS_DESCRIPTOR);
  const cudnnGenStatsMode_t mode = CUDNN_GENSTATS_SUM_SQSUM;
  stats.set(CUDNN_ATTR_OPERATION_GENSTATS_MODE, CUDNN_TYPE_GENSTATS_MODE, &mode)
      .set(CUDNN_ATTR_OPERATION_GENSTATS_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &f32)
      .set(CUDNN_ATTR_OPERATION_GENSTATS_XDESC, tensors[2])
      .set(CUDNN_ATTR_OPERATION_GENSTATS_SUMDESC, tensors[3])
      .set(CUDNN_ATTR_OPERATION_GENSTATS_SQSUMDESC, tensors[4]);
  stats.finalize();
  ops.push_back(std::move(stats));
  if (!finalize_plan(ops, *plan, why)) return nullptr;
  return plan;
}

// The epilogue's form as part of a plan's key: 1 + its parts (bias, batch norm, residual, activation).
int epilogue_form(const ConvEpilogue<float>& e) {
  return 1 + (e.bias ? 1 : 0) + (e.batch_norm() ? 2 : 0) + (e.r ? 4 : 0) + 8 * static_cast<int>(e.act);
}
constexpr int kStatsForm = 0;

// The cached plan for (this device, shape, type, form): built by make() on first use; nullptr when
// refused (counted in the stats either way).
template <class Make>
const Plan* plan_for(const Conv2dShape& g, DType t, int form, Make make) {
  static std::map<Key, std::unique_ptr<Plan>> plans;
  int device = 0;
  HEMO_CUDA_CHECK(cudaGetDevice(&device));
  const Key key{device,
                {g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w},
                static_cast<int>(t),
                g.channels_last,
                form};
  std::lock_guard lock(g_mu);
  if (auto it = plans.find(key); it != plans.end()) return it->second.get();
  std::string why;
  std::unique_ptr<Plan> plan;
  try {
    plan = make(why);
  } catch (const Error& err) {  // an attribute this cuDNN does not know: no fusion, not a failed run
    why = err.what();
  }
  if (plan) {
    ++g_stats.planned;
  } else {
    ++g_stats.refused;
    if (g_stats.first_refusal.empty()) g_stats.first_refusal = why;
  }
  return (plans[key] = std::move(plan)).get();
}

// Runs the plan on the current stream with `pointers` in the order of plan.uids.
void execute(const Plan& plan, std::vector<void*> pointers) {
  const DeviceBuffer workspace(static_cast<size_t>(plan.workspace));
  void* ws = workspace.get();
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, plan.uids.data(),
           static_cast<int64_t>(plan.uids.size()))
      .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, pointers.data(),
           static_cast<int64_t>(pointers.size()))
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, &ws);
  pack.finalize();
  HEMO_CUDNN_CHECK(cudnnBackendExecute(cudnn_handle(), plan.plan->get(), pack.get()));
}

// Where hemo asks cuDNN for runtime fusion at all (conv_cudnn.h).
bool may_fuse(const Conv2dShape& g, DType t) { return g.groups == 1 && (t == DType::bf16 || allow_tf32()); }

}  // namespace

bool cudnn_conv_fwd_fused(const Conv2dShape& g, DType t, const void* x, const void* weight,
                          const ConvEpilogue<float>& e, float* y) {
  if (!may_fuse(g, t)) return false;
  const Plan* plan = plan_for(g, t, epilogue_form(e), [&](std::string& why) { return make_plan(g, t, e, why); });
  if (!plan) return false;
  std::vector<void*> pointers{const_cast<void*>(x), const_cast<void*>(weight)};
  if (e.bias) pointers.push_back(const_cast<float*>(e.bias));
  if (e.batch_norm()) {
    pointers.push_back(const_cast<float*>(e.a));
    pointers.push_back(const_cast<float*>(e.s));
  }
  if (e.r) pointers.push_back(const_cast<float*>(e.r));
  pointers.push_back(y);
  execute(*plan, std::move(pointers));
  return true;
}

bool cudnn_conv_fwd_stats(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y, float* sum,
                          float* sqsum) {
  if (!may_fuse(g, t)) return false;
  const Plan* plan = plan_for(g, t, kStatsForm, [&](std::string& why) { return make_stats_plan(g, t, why); });
  if (!plan) return false;
  execute(*plan, {const_cast<void*>(x), const_cast<void*>(weight), y, sum, sqsum});
  return true;
}

#endif

}  // namespace hemo::cuda
