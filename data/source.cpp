#include "data/source.h"

#include "core/error.h"

namespace hemo::data {

std::string ImageSource::describe(int64_t i) const { return cat("sample ", i); }

std::vector<int64_t> ImageSource::labels() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) out[static_cast<size_t>(i)] = label(i);
  return out;
}

FileSource::FileSource(std::vector<Sample> samples, DecodeOptions opts)
    : samples_(std::move(samples)), opts_(opts) {}

Image FileSource::load(int64_t i) const {
  if (i < 0 || i >= size()) throw Error(cat("FileSource: index ", i, " out of range [0, ", size(), ")"));
  return load_image(samples_[static_cast<size_t>(i)].path, opts_);
}

MemorySource::MemorySource(std::vector<Image> images, std::vector<int64_t> labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  if (images_.size() != labels_.size())
    throw Error(cat("MemorySource: ", images_.size(), " images but ", labels_.size(), " labels"));
}

}  // namespace hemo::data
