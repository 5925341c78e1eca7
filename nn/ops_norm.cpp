#include "nn/ops_norm.h"

#include "kernels/batchnorm.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

Tensor empty_if(bool wanted, const Tensor& like) { return wanted ? Tensor::empty_like(like) : Tensor(); }

void check_channel_tensor(const Tensor& t, int64_t c, const char* what) {
  if (!t.defined()) return;
  HEMO_CHECK(t.dim() == 1 && t.size(0) == c, "batch_norm: ", what, " must be [", c, "], got ", t.str());
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps) {
  HEMO_CHECK(x.dim() >= 2, "batch_norm: expected [N, C, ...] input, got ", x.str());
  check_same_place("batch_norm", {x, weight, bias, running_mean, running_var});
  const int64_t n = x.size(0), c = x.size(1), hw = n * c > 0 ? x.numel() / (n * c) : 0;
  HEMO_CHECK(weight.defined() == bias.defined(), "batch_norm: give both weight and bias, or neither");
  HEMO_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: give both running_mean and running_var, or neither");
  check_channel_tensor(weight, c, "weight");
  check_channel_tensor(bias, c, "bias");
  check_channel_tensor(running_mean, c, "running_mean");
  check_channel_tensor(running_var, c, "running_var");
  HEMO_CHECK(eps > 0, "batch_norm: eps must be positive, got ", eps);
  Tensor y = Tensor::empty_like(x);

  if (training) {
    HEMO_CHECK(n * hw > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
               x.str());
    Tensor mean = Tensor::empty({c}, x.dtype(), x.device()), invstd = Tensor::empty({c}, x.dtype(), x.device());
    dispatch("batch_norm", x, [&](auto t) {
      using T = decltype(t);
      cpu::batch_norm_train_fwd<T>(n, c, hw, x.data<T>(), ptr<T>(weight), ptr<T>(bias), momentum, eps,
                                   ptr<T>(running_mean), ptr<T>(running_var), y.data<T>(), mean.data<T>(),
                                   invstd.data<T>());
    }, [&] {
      cuda::batch_norm_train_fwd<float>(n, c, hw, x.data<float>(), ptr<float>(weight), ptr<float>(bias), momentum,
                                        eps, ptr<float>(running_mean), ptr<float>(running_var), y.data<float>(),
                                        mean.data<float>(), invstd.data<float>());
    });
    record(y, "batch_norm", {x, weight, bias},
           [n, c, hw, x, weight, bias, mean, invstd](const Tensor& gy) -> std::vector<Tensor> {
             Tensor gx = empty_if(x.requires_grad(), x), gw = empty_if(weight.defined() && weight.requires_grad(), weight),
                    gb = empty_if(bias.defined() && bias.requires_grad(), bias);
             dispatch("batch_norm", gy, [&](auto t) {
               using T = decltype(t);
               cpu::batch_norm_train_bwd<T>(n, c, hw, x.data<T>(), gy.data<T>(), ptr<T>(weight), mean.data<T>(),
                                            invstd.data<T>(), ptr<T>(gx), ptr<T>(gw), ptr<T>(gb));
             }, [&] {
               cuda::batch_norm_train_bwd<float>(n, c, hw, x.data<float>(), gy.data<float>(), ptr<float>(weight),
                                                 mean.data<float>(), invstd.data<float>(), ptr<float>(gx),
                                                 ptr<float>(gw), ptr<float>(gb));
             });
             return {gx, gw, gb};
           });
    return y;
  }

  HEMO_CHECK(running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var");
  dispatch("batch_norm", x, [&](auto t) {
    using T = decltype(t);
    cpu::batch_norm_eval_fwd<T>(n, c, hw, x.data<T>(), ptr<T>(weight), ptr<T>(bias), running_mean.data<T>(),
                                running_var.data<T>(), eps, y.data<T>());
  }, [&] {
    cuda::batch_norm_eval_fwd<float>(n, c, hw, x.data<float>(), ptr<float>(weight), ptr<float>(bias),
                                     running_mean.data<float>(), running_var.data<float>(), eps, y.data<float>());
  });
  if (!needs_grad({x, weight, bias})) return y;
  Tensor rm = running_mean.detach().clone(), rv = running_var.detach().clone();
  record(y, "batch_norm", {x, weight, bias},
         [n, c, hw, x, weight, bias, rm, rv, eps](const Tensor& gy) -> std::vector<Tensor> {
           Tensor gx = empty_if(x.requires_grad(), x), gw = empty_if(weight.defined() && weight.requires_grad(), weight),
                  gb = empty_if(bias.defined() && bias.requires_grad(), bias);
           dispatch("batch_norm", gy, [&](auto t) {
             using T = decltype(t);
             cpu::batch_norm_eval_bwd<T>(n, c, hw, x.data<T>(), gy.data<T>(), ptr<T>(weight), rm.data<T>(),
                                         rv.data<T>(), eps, ptr<T>(gx), ptr<T>(gw), ptr<T>(gb));
           }, [&] {
             cuda::batch_norm_eval_bwd<float>(n, c, hw, x.data<float>(), gy.data<float>(), ptr<float>(weight),
                                              rm.data<float>(), rv.data<float>(), eps, ptr<float>(gx), ptr<float>(gw),
                                              ptr<float>(gb));
           });
           return {gx, gw, gb};
         });
  return y;
}

}  // namespace hemo::nn
