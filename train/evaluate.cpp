#include "train/evaluate.h"

#include <algorithm>
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

namespace {

// The class of the first maximum of row (NaN never wins).
int64_t first_max(const std::vector<float>& row) {
  int64_t best = 0;
  for (size_t c = 1; c < row.size(); ++c)
    if (row[c] > row[static_cast<size_t>(best)]) best = static_cast<int64_t>(c);
  return best;
}

}  // namespace

std::vector<std::vector<float>> batch_probabilities(nn::Module& model, const data::Batch& batch, Device device,
                                                    MemoryFormat format, data::Tta tta, double& loss_sum) {
  if (tta == data::Tta::none) {
    Tensor logits = model(batch_tensor(batch, device, format));
    loss_sum += nn::cross_entropy(logits, batch.labels, {}, 0.0, nn::Reduction::sum).item();
    const Tensor probs = nn::softmax(logits, -1).to(Device::cpu());
    const float* p = probs.data<float>();
    const int64_t k = logits.size(1);
    std::vector<std::vector<float>> rows;
    for (int64_t i = 0; i < batch.n; ++i) rows.emplace_back(p + i * k, p + (i + 1) * k);
    return rows;
  }
  const Shape shape = {batch.n, batch.c, batch.h, batch.w};
  std::vector<float> view(static_cast<size_t>(shape_numel(shape)));
  std::vector<std::vector<double>> sums(static_cast<size_t>(batch.n));
  const int views = data::tta_views(tta);
  for (int v = 0; v < views; ++v) {
    data::dihedral_view(batch.images.data, batch.n, batch.c, batch.h, batch.w, v, view.data());
    const Tensor probs = nn::softmax(model(Tensor::from_vector(view, shape).to(device).to(format)), -1).to(Device::cpu());
    const float* p = probs.data<float>();
    const int64_t k = probs.size(1);
    for (int64_t i = 0; i < batch.n; ++i) {
      std::vector<double>& sum = sums[static_cast<size_t>(i)];
      sum.resize(static_cast<size_t>(k));
      for (int64_t c = 0; c < k; ++c) sum[static_cast<size_t>(c)] += p[i * k + c];
    }
  }
  std::vector<std::vector<float>> rows;
  for (int64_t i = 0; i < batch.n; ++i) {
    std::vector<float> row;
    for (double s : sums[static_cast<size_t>(i)]) row.push_back(static_cast<float>(s / views));
    loss_sum -= std::log(std::max(static_cast<double>(row[static_cast<size_t>(batch.labels[static_cast<size_t>(i)])]),
                                  1e-38));
    rows.push_back(std::move(row));
  }
  return rows;
}

Predictions predict(nn::Module& model, data::Loader& loader, Device device, const std::string& progress_label,
                    MemoryFormat format, data::Tta tta) {
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
    std::vector<std::vector<float>> rows = batch_probabilities(model, *batch, device, format, tta, loss_sum);
    for (int64_t i = 0; i < batch->n; ++i) {
      std::vector<float>& row = rows[static_cast<size_t>(i)];
      out.paths.push_back(loader.source().describe(batch->indices[static_cast<size_t>(i)]));
      out.truth.push_back(batch->labels[static_cast<size_t>(i)]);
      out.predicted.push_back(first_max(row));
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
