// The optimizer and the learning-rate schedule a TrainConfig asks for, and small helpers of the
// training step.
#pragma once
#include <memory>
#include <vector>

#include "data/transforms.h"
#include "nn/module.h"
#include "train/comm.h"
#include "train/config.h"
#include "train/optim.h"
#include "train/schedule.h"

namespace hemo::train {

// The training images' transform at `side` x `side`: the evaluation geometry without --augment;
// with it data::TransformSpec::train with the config's rotation, vertical flips, crop scale and
// colour jitter.
data::TransformSpec train_transform(const TrainConfig& c, int side);

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<Tensor> params);
Schedule make_schedule(const TrainConfig& c);

// W_r of train/grad_reduce.h: the number of labels, or with class weights (a [K] tensor) their sum.
double loss_weight(const std::vector<int64_t>& labels, const Tensor& class_weights);

// --sync-bn: every BatchNorm2d of `model` sums its statistics over `comm`'s ranks (nn/ops_sync_norm.h;
// a model on CUDA is staged through the host there).
void synchronize_batch_norms(nn::Module& model, const std::shared_ptr<Communicator>& comm);

}  // namespace hemo::train
