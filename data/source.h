// Where the loader gets its samples: an indexable set of (image, label). Implementations must be
// safe to call concurrently from several threads (load is const and has no shared mutable state).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/decode.h"
#include "data/image.h"
#include "data/image_folder.h"

namespace hemo::data {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  virtual int64_t label(int64_t i) const = 0;
  // Decodes (or copies) sample i. Throws hemo::Error naming the sample on failure.
  virtual Image load(int64_t i) const = 0;
  // A name for messages: the file path, or "sample 12".
  virtual std::string describe(int64_t i) const;
  std::vector<int64_t> labels() const;
};

// Image files on disk (ImageFolder or manifest samples), decoded on each load.
class FileSource final : public ImageSource {
 public:
  explicit FileSource(std::vector<Sample> samples, DecodeOptions opts = {});
  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  int64_t label(int64_t i) const override { return samples_.at(static_cast<size_t>(i)).label; }
  Image load(int64_t i) const override;
  std::string describe(int64_t i) const override { return samples_.at(static_cast<size_t>(i)).path; }
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  std::vector<Sample> samples_;
  DecodeOptions opts_;
};

// Images already in memory (the synthetic set of a test, a cached dataset).
class MemorySource final : public ImageSource {
 public:
  MemorySource(std::vector<Image> images, std::vector<int64_t> labels);
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int64_t label(int64_t i) const override { return labels_.at(static_cast<size_t>(i)); }
  Image load(int64_t i) const override { return images_.at(static_cast<size_t>(i)); }

 private:
  std::vector<Image> images_;
  std::vector<int64_t> labels_;
};

}  // namespace hemo::data
