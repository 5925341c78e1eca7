#include "train/optim.h"

#include <cmath>
#include <map>

#include "nn/ops_elementwise.h"
#include "nn/ops_optim.h"
#include "nn/ops_step.h"
#include "tensor/autograd.h"

namespace hemo::train {

namespace {

std::map<std::string, Tensor> by_name(const NamedTensors& state) {
  std::map<std::string, Tensor> m;
  for (const auto& [n, t] : state) m[n] = t;
  return m;
}

// Copies a saved buffer into a fresh tensor shaped like the parameter, checking the shape.
Tensor restore(const std::map<std::string, Tensor>& m, const std::string& key, const Tensor& like) {
  auto it = m.find(key);
  if (it == m.end()) return {};
  HEMO_CHECK(it->second.shape() == like.shape(), "optimizer state ", key, " has shape ", shape_str(it->second.shape()),
             " but the parameter has ", shape_str(like.shape()), ": the checkpoint belongs to another model");
  Tensor t = Tensor::empty_like(like);
  Tensor src = it->second.detach().to(like.dtype());
  copy_bytes(t.raw(), t.device(), src.raw(), src.device(), t.nbytes());
  return t;
}

int64_t scalar(const std::map<std::string, Tensor>& m, const std::string& key) {
  auto it = m.find(key);
  HEMO_CHECK(it != m.end(), "optimizer state lacks '", key, "'");
  return static_cast<int64_t>(std::llround(it->second.item()));
}
}  // namespace

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

namespace {
// The bytes of one parameter's constants: those of the widest kind (AdamConsts<double>), so one
// table serves either optimizer and dtype.
constexpr size_t kConstsStride = sizeof(AdamConsts<double>);
static_assert(sizeof(SgdConsts<double>) <= kConstsStride);
}  // namespace

void Optimizer::prepare_capture() {
  HEMO_CHECK(!params_.empty(), "an optimizer without parameters has nothing to capture");
  if (!consts_) consts_ = std::make_shared<Storage>(params_.size() * kConstsStride, params_.front().device());
}

const void* Optimizer::consts_table() const {
  HEMO_CHECK(consts_, "Optimizer::launch_captured/stage_captured before prepare_capture");
  return consts_->data();
}

template <class Consts>
void Optimizer::upload_consts(const std::vector<Consts>& consts) {
  // Entry j belongs to captured_[j], as the captured launch lists them (MultiTensorArgs::consts).
  void* table = const_cast<void*>(consts_table());  // checks that prepare_capture ran
  HEMO_CHECK(consts.size() * sizeof(Consts) <= consts_->bytes(), "the optimizer's constants table is too small");
  upload_bytes(table, consts_->device(), consts.data(), consts.size() * sizeof(Consts));
}

Sgd::Sgd(std::vector<Tensor> params, SgdOptions o) : Optimizer(std::move(params)), opt_(o), buf_(params_.size()) {
  lr_ = o.lr;
  HEMO_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening");
}

void Sgd::step() {
  std::vector<SgdParams> hs;
  std::vector<Tensor> ps, gs, bufs;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    SgdParams h{lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, false};
    if (opt_.momentum != 0 && !buf_[i].defined()) {
      buf_[i] = Tensor::zeros_like(p);
      h.first_step = true;
    }
    if (!multi_tensor_) {
      nn::sgd_update_(h, p, g, buf_[i]);
      continue;
    }
    hs.push_back(h), ps.push_back(p), gs.push_back(g), bufs.push_back(buf_[i]);
  }
  if (!ps.empty()) nn::sgd_update_multi_(hs, ps, gs, bufs);
  ++steps_;
}

void Sgd::launch_captured() {
  const void* table = consts_table();
  captured_.clear();
  std::vector<SgdParams> hs;
  std::vector<Tensor> ps, gs, bufs;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    HEMO_CHECK(opt_.momentum == 0 || buf_[i].defined(), "SGD: parameter ", i,
               " has no momentum buffer yet; run one step() before capturing the step");
    captured_.push_back(i);
    hs.push_back({lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, false});
    ps.push_back(params_[i]), gs.push_back(g), bufs.push_back(buf_[i]);
  }
  if (!ps.empty()) nn::sgd_update_multi_(hs, ps, gs, bufs, table);
}

void Sgd::stage_captured() {
  const SgdParams h{lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, false};
  if (params_.front().dtype() == DType::f64)
    upload_consts(std::vector<SgdConsts<double>>(captured_.size(), sgd_consts<double>(h)));
  else
    upload_consts(std::vector<SgdConsts<float>>(captured_.size(), sgd_consts<float>(h)));
  ++steps_;
}

NamedTensors Sgd::state() const {
  NamedTensors s{{"steps", Tensor::full({}, static_cast<double>(steps_))}};
  for (size_t i = 0; i < buf_.size(); ++i)
    if (buf_[i].defined()) s.emplace_back(cat(i, ".momentum_buffer"), buf_[i]);
  return s;
}

void Sgd::load_state(const NamedTensors& state) {
  auto m = by_name(state);
  steps_ = scalar(m, "steps");
  for (size_t i = 0; i < params_.size(); ++i) buf_[i] = restore(m, cat(i, ".momentum_buffer"), params_[i]);
}

Adam::Adam(std::vector<Tensor> params, AdamOptions o)
    : Optimizer(std::move(params)), opt_(o), m_(params_.size()), v_(params_.size()), param_steps_(params_.size(), 0) {
  lr_ = o.lr;
}

void Adam::step() {
  std::vector<AdamParams> hs;
  std::vector<Tensor> ps, gs, ms, vs;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros_like(p);
      v_[i] = Tensor::zeros_like(p);
    }
    AdamParams h{lr_, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, opt_.decoupled, ++param_steps_[i]};
    if (!multi_tensor_) {
      nn::adam_update_(h, p, g, m_[i], v_[i]);
      continue;
    }
    hs.push_back(h), ps.push_back(p), gs.push_back(g), ms.push_back(m_[i]), vs.push_back(v_[i]);
  }
  if (!ps.empty()) nn::adam_update_multi_(hs, ps, gs, ms, vs);
  ++steps_;
}

void Adam::launch_captured() {
  const void* table = consts_table();
  captured_.clear();
  std::vector<AdamParams> hs;
  std::vector<Tensor> ps, gs, ms, vs;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    HEMO_CHECK(m_[i].defined(), "Adam: parameter ", i, " has no state yet; run one step() before capturing the step");
    captured_.push_back(i);
    hs.push_back({lr_, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, opt_.decoupled, param_steps_[i] + 1});
    ps.push_back(params_[i]), gs.push_back(g), ms.push_back(m_[i]), vs.push_back(v_[i]);
  }
  if (!ps.empty()) nn::adam_update_multi_(hs, ps, gs, ms, vs, table);
}

void Adam::stage_captured() {
  auto fill = [&](auto zero) {
    using T = decltype(zero);
    std::vector<AdamConsts<T>> k;
    for (size_t i : captured_)
      k.push_back(adam_consts<T>(
          {lr_, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, opt_.decoupled, ++param_steps_[i]}));
    upload_consts(k);
  };
  if (params_.front().dtype() == DType::f64)
    fill(0.0);
  else
    fill(0.0f);
  ++steps_;
}

NamedTensors Adam::state() const {
  NamedTensors s{{"steps", Tensor::full({}, static_cast<double>(steps_))}};
  for (size_t i = 0; i < m_.size(); ++i) {
    if (!m_[i].defined()) continue;
    s.emplace_back(cat(i, ".exp_avg"), m_[i]);
    s.emplace_back(cat(i, ".exp_avg_sq"), v_[i]);
    s.emplace_back(cat(i, ".step"), Tensor::full({}, static_cast<double>(param_steps_[i])));
  }
  return s;
}

void Adam::load_state(const NamedTensors& state) {
  auto m = by_name(state);
  steps_ = scalar(m, "steps");
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i] = restore(m, cat(i, ".exp_avg"), params_[i]);
    v_[i] = restore(m, cat(i, ".exp_avg_sq"), params_[i]);
    param_steps_[i] = m_[i].defined() ? scalar(m, cat(i, ".step")) : 0;
  }
}

double squares_norm(const Tensor& param_sq) {
  float sq = 0;
  for (float s : param_sq.to_vector<float>()) sq += s;
  return std::sqrt(static_cast<double>(sq));
}

double grad_norm(const std::vector<Tensor>& params) {
  return params.empty() ? 0.0 : squares_norm(nn::grad_squares(params));
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  if (params.empty()) return 0.0;
  const Tensor param_sq = nn::grad_squares(params);
  clip_grad_norm(params, max_norm, param_sq);
  return squares_norm(param_sq);
}

void clip_grad_norm(const std::vector<Tensor>& params, double max_norm, const Tensor& param_sq) {
  nn::clip_grads_(params, param_sq, max_norm);
}

}  // namespace hemo::train
