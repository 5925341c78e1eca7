#include "train/grad_reduce.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "core/storage.h"

namespace hemo::train {

size_t bucket_bytes_from_env() {
  const char* v = std::getenv("HEMO_DIST_BUCKET_MB");
  if (!v || !*v) return 25u << 20;
  char* end = nullptr;
  const double mb = std::strtod(v, &end);
  HEMO_CHECK(*end == '\0' && mb > 0, "HEMO_DIST_BUCKET_MB='", v, "' is not a positive number of MB");
  return static_cast<size_t>(mb * (1 << 20));
}

GradReducer::GradReducer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
                         std::unique_ptr<DeviceCollectives> device, size_t bucket_bytes)
    : comm_(std::move(comm)), params_(std::move(params)), device_(std::move(device)) {
  const int64_t cap = static_cast<int64_t>(std::max<size_t>(bucket_bytes / sizeof(float), 1));
  std::vector<int64_t> sizes;  // floats per bucket
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    HEMO_CHECK(p.dtype() == DType::f32, "distributed training (", comm_->who(), "): parameter ", k, " is ", p.str(),
               "; the gradient all-reduce handles float32 parameters only");
    const int64_t n = p.numel();
    if (buckets_.empty() || (!buckets_.back().slots.empty() && sizes.back() + n > cap)) {
      buckets_.emplace_back();
      sizes.push_back(0);
    }
    Bucket& b = buckets_.back();
    const size_t bucket = buckets_.size() - 1, slot = b.slots.size();
    b.slots.push_back({k, static_cast<size_t>(sizes.back())});
    sizes.back() += n;
    params_[k].register_hook([this, bucket, slot](const Tensor& g) {
      if (active_) on_grad(bucket, slot, g);
      return g;
    });
  }
  const Device where = device_ && !params_.empty() ? params_[0].device() : Device::cpu();
  for (size_t b = 0; b < buckets_.size(); ++b) buckets_[b].buf = Tensor::zeros({sizes[b]}, DType::f32, where);
}

double GradReducer::begin_step(double local_weight) {
  double w = local_weight;
  comm_->allreduce_sum(std::span<double>(&w, 1), "the all-reduce of the step's sample count");
  HEMO_CHECK(w > 0, "distributed training (", comm_->who(), "): a step has no samples on any rank");
  for (Bucket& b : buckets_) {
    b.buf = Tensor::zeros(b.buf.shape(), DType::f32, b.buf.device());
    b.arrived = 0;
    b.pending.reset();
  }
  next_start_ = 0;
  active_ = true;
  return local_weight / w;
}

void GradReducer::on_grad(size_t bucket, size_t slot, const Tensor& grad) {
  Bucket& b = buckets_[bucket];
  const Slot& s = b.slots[slot];
  copy_bytes(b.buf.data<float>() + s.offset, b.buf.device(), grad.raw(), grad.device(), grad.nbytes());
  ++b.arrived;
  start_ready();
  // Drive the progress of buckets already in flight (MPI progresses inside its calls).
  for (size_t k = 0; k < next_start_; ++k) buckets_[k].pending->test();
}

void GradReducer::start(Bucket& b) {
  const char* what = "the gradient all-reduce";
  if (b.buf.is_cuda())
    b.pending = device_->start_allreduce(b.buf.data<float>(), static_cast<size_t>(b.buf.numel()), what);
  else
    b.pending = comm_->start_allreduce(std::span<float>(b.buf.data<float>(), static_cast<size_t>(b.buf.numel())), what);
}

void GradReducer::start_ready() {
  while (next_start_ < buckets_.size() && buckets_[next_start_].arrived == buckets_[next_start_].slots.size())
    start(buckets_[next_start_++]);
}

void GradReducer::finish() {
  HEMO_CHECK(active_, "GradReducer::finish without begin_step");
  const auto t0 = std::chrono::steady_clock::now();
  for (; next_start_ < buckets_.size(); ++next_start_) start(buckets_[next_start_]);
  for (Bucket& b : buckets_) {
    b.pending->wait();
    for (const Slot& s : b.slots) {
      Tensor& p = params_[s.param];
      Tensor g = Tensor::empty(p.shape(), DType::f32, p.device());
      copy_bytes(g.raw(), g.device(), b.buf.data<float>() + s.offset, b.buf.device(), g.nbytes());
      p.set_grad(g);
    }
  }
  active_ = false;
  waited_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double GradReducer::take_wait_seconds() {
  const double s = waited_s_;
  waited_s_ = 0;
  return s;
}

}  // namespace hemo::train
