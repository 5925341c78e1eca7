#include "train/evaluate.h"

#include <cmath>

#include "core/pinned.h"
#include "core/storage.h"
#include "nn/ops_loss.h"
#include "nn/ops_softmax.h"
#include "tensor/autograd.h"
#include "train/progress.h"

namespace hemo::train {

Tensor batch_tensor(const data::Batch& batch, Device device, MemoryFormat format) {
  Tensor x = Tensor::empty({batch.n, batch.c, batch.h, batch.w}, DType::f32, device);
  // Queued without waiting, straight from the loader's pinned buffer, which the copy holds until
  // the device has read it (core/storage.h).
  upload_bytes(x.raw(), device, batch.images.data, x.nbytes(), batch.images.owner);
  return x.to(format);
}

data::BatchAllocator batch_allocator(Device device) {
  if (!device.is_cuda() || !pinned_memory_available()) return {};  // the loader's default heap memory
  return [](size_t floats) {
    std::shared_ptr<void> p = pinned_buffer(floats * sizeof(float));
    return data::FloatBuffer{static_cast<float*>(p.get()), floats, p};
  };
}

Predictions predict(nn::Module& model, data::Loader& loader, Device device, const std::string& progress_label,
                    MemoryFormat format) {
  NoGradGuard no_grad;
  bool was_training = model.is_training();
  model.eval();
  Predictions out;
  double loss_sum = 0;
  loader.start_epoch(0);
  Progress progress(progress_label.empty() ? "eval" : progress_label, loader.samples_per_epoch());
  bool show = !progress_label.empty();
  int64_t done = 0;
  while (auto batch = loader.next()) {
    if (batch->n == 0) continue;  // every sample skipped (LoaderOptions::on_skip)
    Tensor logits = model(batch_tensor(*batch, device, format));
    Tensor loss = nn::cross_entropy(logits, batch->labels, {}, 0.0, nn::Reduction::sum);
    loss_sum += loss.item();
    Tensor probs = nn::softmax(logits, -1).to(Device::cpu());
    const float* p = probs.data<float>();
    int64_t k = logits.size(1);
    for (int64_t i = 0; i < batch->n; ++i) {
      std::vector<float> row(p + i * k, p + (i + 1) * k);
      int64_t best = 0;
      for (int64_t c = 1; c < k; ++c)
        if (row[static_cast<size_t>(c)] > row[static_cast<size_t>(best)]) best = c;
      out.paths.push_back(loader.source().describe(batch->indices[static_cast<size_t>(i)]));
      out.truth.push_back(batch->labels[static_cast<size_t>(i)]);
      out.predicted.push_back(best);
      out.probabilities.push_back(std::move(row));
    }
    done += batch->n;
    if (show) progress.update(done, "");
  }
  if (show) progress.finish();
  out.loss = out.truth.empty() ? 0 : loss_sum / static_cast<double>(out.truth.size());
  model.train(was_training);
  return out;
}

}  // namespace hemo::train
