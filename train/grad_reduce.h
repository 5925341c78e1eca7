// GradReducer: averages the parameter gradients of a data-parallel step over the ranks of a
// Communicator (train/comm.h), bucket by bucket as backward produces them.
//
// The math. Rank r's loss is the mean over its batch, L_r = (1/W_r) sum_i w_i l_i, where w_i is 1
// (or the class weight of sample i with --class-weights) and W_r = sum_i w_i over its n_r samples.
// One process with the whole global batch minimizes L = (1/W) sum_r W_r L_r, W = sum_r W_r, so
//     dL/dθ = sum_r (W_r / W) dL_r/dθ.
// begin_step(W_r) reduces W and returns W_r / W; the trainer multiplies its loss by that factor
// before backward (so the gradients arrive scaled, on any device) and the buckets are summed.
// A rank with an empty batch (the last, partial step of an epoch) has W_r = 0 and contributes
// zeros, so every step averages exactly the images a single process would, whatever N is.
//
// Buckets: the parameters in reverse order (the order backward reaches them), packed into flat
// float32 tensors of about `bucket_bytes` (25 MB by default): on the parameters' GPU when a
// DeviceCollectives (NCCL) is given, else on the host (MPI; a GPU's gradients are copied down).
// A hook on each parameter copies its gradient into its bucket as soon as backward has summed it; when a bucket is full it is
// handed to Communicator::start_allreduce while backward goes on. Buckets start in index order on
// every rank (a full bucket waits for the ones before it), since MPI needs the same order of
// collectives everywhere. finish() starts what is left (a rank without a backward starts them all),
// waits, and sets each parameter's grad() to the averaged gradient.
// Hooks act only between begin_step and finish: a backward elsewhere (Grad-CAM) is untouched.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "tensor/tensor.h"
#include "train/comm.h"

namespace hemo::train {

// The bucket size: HEMO_DIST_BUCKET_MB (a positive number of MB) or 25 MB.
size_t bucket_bytes_from_env();

class GradReducer {
 public:
  GradReducer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
              std::unique_ptr<DeviceCollectives> device = nullptr, size_t bucket_bytes = 25u << 20);
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before backward; `local_weight` is W_r. Returns W_r / W, the factor for this rank's loss.
  double begin_step(double local_weight);
  // After backward (or instead of it, on a rank with no samples).
  void finish();

  // Seconds spent in finish() (waiting for the reductions and copying the gradients back) since
  // the last call of take_wait_seconds(); the part of the all-reduce that backward did not hide.
  double take_wait_seconds();
  size_t num_buckets() const { return buckets_.size(); }
  size_t bucket_bytes(size_t b) const { return buckets_[b].buf.nbytes(); }

 private:
  struct Slot {
    size_t param = 0, offset = 0;
  };
  struct Bucket {
    Tensor buf;  // flat float32
    std::vector<Slot> slots;
    size_t arrived = 0;
    std::unique_ptr<PendingReduce> pending;
  };
  void on_grad(size_t bucket, size_t slot, const Tensor& grad);
  void start_ready();  // starts full buckets in index order
  void start(Bucket& b);

  std::shared_ptr<Communicator> comm_;
  std::vector<Tensor> params_;
  std::unique_ptr<DeviceCollectives> device_;
  std::vector<Bucket> buckets_;
  size_t next_start_ = 0;
  bool active_ = false;
  double waited_s_ = 0;
};

}  // namespace hemo::train
