// Optimizers over a model's parameters: SGD (momentum, dampening, Nesterov, weight decay), Adam
// and AdamW, with PyTorch's update rules (kernels/optim.h has the math; nn/ops_optim.h runs them
// on the parameters' device). Parameters without a gradient after backward (frozen, or unused)
// are skipped, as torch.optim does.
//
// state() / load_state() expose every buffer and the step count as named tensors, so a
// checkpoint restores an optimizer exactly.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/storage.h"
#include "kernels/optim.h"
#include "tensor/tensor.h"

namespace hemo::train {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }
  // One multi-tensor update for all parameters (on) or one update per parameter (off, to compare;
  // `--no-multi-tensor`): the same numbers either way (kernels/optim.h).
  void set_multi_tensor(bool on) { multi_tensor_ = on; }
  bool multi_tensor() const { return multi_tensor_; }
  double lr() const { return lr_; }
  int64_t steps() const { return steps_; }
  virtual NamedTensors state() const = 0;  // names "<i>.<buffer>" plus "steps"
  virtual void load_state(const NamedTensors& state) = 0;
  virtual std::string name() const = 0;

  // A training step captured into a CUDA graph (train/captured_step.h) splits step() in three:
  //   prepare_capture(): before the capture, allocates a table of per-parameter constants on the
  //     parameters' device, whose address the captured update keeps.
  //   launch_captured(): inside the capture, queues one multi-tensor update of the parameters that
  //     have a gradient, reading their constants (learning rate, Adam's bias corrections) from
  //     the table when it runs; advances nothing, and remembers the parameters.
  //   stage_captured(): before each replay (and after the capture, for the captured step), advances
  //     the step counts as step() would for those parameters and copies that step's constants into
  //     the table (queued, no wait).
  // Each replay then updates exactly as step() would have, bit for bit. The state buffers must
  // exist before the capture: run one step() first.
  void prepare_capture();
  virtual void launch_captured() = 0;
  virtual void stage_captured() = 0;

 protected:
  // Copies the constants of the captured parameters into the table, consts[j] for captured_[j].
  template <class Consts>
  void upload_consts(const std::vector<Consts>& consts);
  const void* consts_table() const;

  std::vector<Tensor> params_;
  std::vector<size_t> captured_;             // the parameters launch_captured updates
  std::shared_ptr<Storage> consts_;          // prepare_capture's table
  double lr_ = 1e-3;
  int64_t steps_ = 0;
  bool multi_tensor_ = true;
};

struct SgdOptions {
  double lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, SgdOptions o);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;
  std::string name() const override { return "sgd"; }
  void launch_captured() override;
  void stage_captured() override;

 private:
  SgdOptions opt_;
  std::vector<Tensor> buf_;        // momentum buffers (undefined until a param's first update)
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // true: AdamW
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions o);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;
  std::string name() const override { return opt_.decoupled ? "adamw" : "adam"; }
  void launch_captured() override;
  void stage_captured() override;

 private:
  AdamOptions opt_;
  std::vector<Tensor> m_, v_;
  std::vector<int64_t> param_steps_;  // per parameter, as torch (a frozen param does not advance)
};

// The global L2 norm of the gradients (parameters without one are left out), computed on their
// device with one device-to-host copy. Non-finite when any gradient holds a NaN or an infinity.
double grad_norm(const std::vector<Tensor>& params);
// The same from the squares (nn::grad_squares): their sum in order in float, as the step meter adds
// them, then its square root. Copies them back: waits for the device.
double squares_norm(const Tensor& param_sq);
// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (torch.nn.utils.clip_grad_norm_): waits for the device to read it.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
// The same with the squares already taken (param_sq = nn::grad_squares(params)), queued on the
// gradients' device without waiting (nn::clip_grads_): the clip of a training step.
void clip_grad_norm(const std::vector<Tensor>& params, double max_norm, const Tensor& param_sq);

}  // namespace hemo::train
