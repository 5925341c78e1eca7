// Loader: bit-identical batches whatever the thread count, order and epochs, errors in workers,
// shutdown mid-epoch, the batch allocator seam.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<MemorySource> synthetic_source(int per_class, int size) {
  synth::Dataset d = synth::generate_in_memory(per_class, size, 9, 2);
  return std::make_shared<MemorySource>(std::move(d.images), std::move(d.labels));
}

std::vector<Batch> run_epoch(Loader& loader, int64_t epoch) {
  std::vector<Batch> out;
  loader.start_epoch(epoch);
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].n != b[i].n || a[i].labels != b[i].labels || a[i].indices != b[i].indices) return false;
    if (std::memcmp(a[i].images.data, b[i].images.data, a[i].images.size * sizeof(float)) != 0) return false;
  }
  return true;
}

// A source whose sample `bad` throws, to test error propagation.
class FailingSource final : public ImageSource {
 public:
  FailingSource(int64_t n, int64_t bad, bool empty_image = false) : n_(n), bad_(bad), empty_(empty_image) {}
  int64_t size() const override { return n_; }
  int64_t label(int64_t i) const override { return i % 2; }
  Image load(int64_t i) const override {
    if (i == bad_ && empty_) return Image();  // fails later, in the transform
    if (i == bad_) throw hemo::Error(hemo::cat("/fake/sample", i, ".jpg: truncated or corrupt JPEG data"));
    return Image(40, 40, static_cast<uint8_t>(i));
  }

 private:
  int64_t n_, bad_;
  bool empty_;
};

}  // namespace

TEST_CASE("batches are bit-identical whatever the thread count") {
  auto src = synthetic_source(5, 48);  // 40 samples
  TransformSpec spec = TransformSpec::train(32);
  std::vector<std::vector<Batch>> runs;
  for (int threads : {0, 1, 2, 4, 7}) {
    LoaderOptions o;
    o.batch_size = 6;  // 40 = 6 * 6 + 4: a short last batch
    o.threads = threads;
    o.prefetch = threads == 7 ? 1 : 0;
    o.seed = 1234;
    Loader loader(src, spec, o);
    CHECK(loader.batches_per_epoch() == 7);
    runs.push_back(run_epoch(loader, 3));
  }
  REQUIRE(runs[0].size() == 7);
  CHECK(runs[0].back().n == 4);
  CHECK(runs[0][0].c == 3);
  CHECK(runs[0][0].h == 32);
  for (size_t r = 1; r < runs.size(); ++r) CHECK(same(runs[0], runs[r]));
  // Each epoch covers every sample once (Shuffle).
  std::vector<int64_t> seen;
  for (const Batch& b : runs[0]) seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  std::sort(seen.begin(), seen.end());
  CHECK(seen == sequential_indices(40));
}

TEST_CASE("batches decoded from real JPEG files are bit-identical whatever the thread count") {
  // Decoding on the workers too (FileSource: TurboJPEG handles are per thread), with weighted
  // order and augmentation: 24 files, batches of 5.
  const std::vector<fs::path> files = test::real_or_synthetic_jpegs(test::scratch_dir("loader_real") / "synthetic");
  REQUIRE(files.size() >= 24);
  std::vector<Sample> samples;
  for (size_t k = 0; k < 24; ++k) {
    const fs::path& f = files[k * files.size() / 24];
    samples.push_back({f.string(), static_cast<int64_t>(k * 8 / 24)});
  }
  auto src = std::make_shared<FileSource>(samples);
  std::vector<std::vector<Batch>> runs;
  for (int threads : {0, 2, 3}) {
    LoaderOptions o;
    o.batch_size = 5;
    o.threads = threads;
    o.order = Order::Weighted;
    o.seed = 77;
    Loader loader(src, TransformSpec::train(40), o);
    runs.push_back(run_epoch(loader, 2));
  }
  REQUIRE(runs[0].size() == 5);
  CHECK(same(runs[0], runs[1]));
  CHECK(same(runs[0], runs[2]));
}

TEST_CASE("the prefetch queue is bounded: workers stop `prefetch` batches ahead of the consumer") {
  // A source that counts loads. With batches of one sample, loads = batches made.
  class Counting final : public ImageSource {
   public:
    int64_t size() const override { return 50; }
    int64_t label(int64_t i) const override { return i % 2; }
    Image load(int64_t) const override {
      ++loads;
      return Image(8, 8, 1);
    }
    mutable std::atomic<int> loads{0};
  };
  auto src = std::make_shared<Counting>();
  LoaderOptions o;
  o.batch_size = 1;
  o.threads = 4;
  o.prefetch = 3;
  o.order = Order::Sequential;
  Loader loader(src, TransformSpec::eval(8), o);
  // Waits until the workers have made n batches (or 5 s), then a little longer: they must stop there.
  auto settle = [&](int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (src->loads.load() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return src->loads.load();
  };
  loader.start_epoch(0);
  CHECK(settle(3) == 3);
  REQUIRE(loader.next().has_value());  // frees one slot
  CHECK(settle(4) == 4);
  int got = 1;
  while (loader.next()) ++got;
  CHECK(got == 50);
  CHECK(src->loads.load() == 50);
}

TEST_CASE("epochs and seeds change the batches; the same (seed, epoch) repeats them") {
  auto src = synthetic_source(3, 40);
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 5;
  Loader loader(src, TransformSpec::train(32), o);
  const auto e0 = run_epoch(loader, 0);
  const auto e1 = run_epoch(loader, 1);
  const auto e0b = run_epoch(loader, 0);
  CHECK(same(e0, e0b));
  CHECK_FALSE(same(e0, e1));
  o.seed = 6;
  Loader other(src, TransformSpec::train(32), o);
  CHECK_FALSE(same(e0, run_epoch(other, 0)));
}

TEST_CASE("sequential evaluation batches equal the transform applied by hand") {
  auto src = synthetic_source(2, 40);
  LoaderOptions o;
  o.batch_size = 5;
  o.order = Order::Sequential;
  o.drop_last = true;  // 16 samples -> 3 batches of 5
  const TransformSpec spec = TransformSpec::eval(32);
  Loader loader(src, spec, o);
  const auto batches = run_epoch(loader, 0);
  REQUIRE(batches.size() == 3);
  std::vector<float> expect(spec.output_floats());
  Rng unused;
  transform_into(spec, src->load(7), unused, expect);
  const auto got = batches[1].image(2);  // sample 7
  CHECK(batches[1].indices[2] == 7);
  CHECK(batches[1].labels[2] == 3);  // 2 per class: sample 7 is class 3
  CHECK(std::equal(got.begin(), got.end(), expect.begin()));
}

TEST_CASE("weighted order balances classes") {
  // 36 of class 0, 4 of class 1.
  std::vector<Image> imgs(40, Image(8, 8, 1));
  std::vector<int64_t> labels(40, 0);
  for (int i = 36; i < 40; ++i) labels[static_cast<size_t>(i)] = 1;
  auto src = std::make_shared<MemorySource>(imgs, labels);
  LoaderOptions o;
  o.batch_size = 50;
  o.order = Order::Weighted;
  o.samples_per_epoch = 2000;
  Loader loader(src, TransformSpec::eval(8), o);
  int64_t ones = 0, total = 0;
  for (const Batch& b : run_epoch(loader, 0))
    for (int64_t l : b.labels) ones += l, ++total;
  CHECK(total == 2000);
  CHECK(ones > 900);
  CHECK(ones < 1100);
}

TEST_CASE("an error in a worker reaches the consumer with the file name, then the epoch ends") {
  for (int threads : {0, 1, 3}) {
    CAPTURE(threads);
    LoaderOptions o;
    o.batch_size = 4;
    o.threads = threads;
    o.order = Order::Sequential;
    auto src = std::make_shared<FailingSource>(40, 13);  // batch 3
    Loader loader(src, TransformSpec::eval(16), o);
    loader.start_epoch(0);
    for (int b = 0; b < 3; ++b) CHECK(loader.next().has_value());
    CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("/fake/sample13.jpg: truncated"), hemo::Error);
    CHECK_FALSE(loader.next().has_value());
    // A new epoch starts cleanly (and fails at the same place: the data did not change).
    loader.start_epoch(1);
    CHECK(loader.next().has_value());
  }
}

TEST_CASE("an error raised by a transform names the sample") {
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 2;
  o.order = Order::Sequential;
  Loader loader(std::make_shared<FailingSource>(8, 5, true), TransformSpec::eval(16), o);
  loader.start_epoch(0);
  CHECK(loader.next().has_value());
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("sample 5: transform: empty input image"), hemo::Error);
}

TEST_CASE("a corrupt file on disk fails with its path") {
  const fs::path dir = test::scratch_dir("loader_files");
  std::vector<Sample> samples;
  for (int i = 0; i < 6; ++i) {
    const fs::path p = dir / (std::to_string(i) + ".png");
    save_image(p, Image(20, 20, static_cast<uint8_t>(i)));
    samples.push_back({p.string(), i % 2});
  }
  const auto png = encode_png(Image(20, 20, 3));
  write_file_atomic(dir / "4.png", std::span<const uint8_t>(png.data(), png.size() / 2));
  LoaderOptions o;
  o.batch_size = 2;
  o.threads = 2;
  o.order = Order::Sequential;
  Loader loader(std::make_shared<FileSource>(samples), TransformSpec::eval(16), o);
  loader.start_epoch(0);
  CHECK(loader.next().has_value());
  CHECK(loader.next().has_value());
  const std::string bad = (dir / "4.png").string();
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains(bad.c_str()), hemo::Error);
}

TEST_CASE("destroying a loader mid-epoch, or before any epoch, shuts down cleanly") {
  auto src = synthetic_source(4, 64);
  LoaderOptions o;
  o.batch_size = 2;
  o.threads = 3;
  {
    Loader idle(src, TransformSpec::train(48), o);
  }
  {
    Loader busy(src, TransformSpec::train(48), o);
    busy.start_epoch(0);
    CHECK(busy.next().has_value());
    busy.start_epoch(1);  // restart with batches in flight
    CHECK(busy.next().has_value());
  }  // workers still prefetching: joined here
  Loader unstarted(src, TransformSpec::eval(16), o);
  CHECK_THROWS_WITH_AS(unstarted.next(), doctest::Contains("before start_epoch"), hemo::Error);
}

TEST_CASE("the batch allocator seam is used for every batch") {
  auto src = synthetic_source(2, 40);
  std::atomic<int> calls{0};
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 2;
  o.allocator = [&calls](size_t floats) {
    ++calls;
    return FloatBuffer::heap(floats);
  };
  Loader loader(src, TransformSpec::eval(16), o);
  CHECK(run_epoch(loader, 0).size() == 4);
  CHECK(calls == 4);
  o.allocator = [](size_t) { return FloatBuffer{}; };
  Loader broken(src, TransformSpec::eval(16), o);
  broken.start_epoch(0);
  CHECK_THROWS_WITH_AS(broken.next(), doctest::Contains("batch allocator returned 0 floats"), hemo::Error);
}

TEST_CASE("recycling_allocator hands buffers back out once their batch is gone") {
  std::atomic<int> made{0};
  BatchAllocator alloc = recycling_allocator(
      [&made](size_t floats) {
        ++made;
        return FloatBuffer::heap(floats);
      },
      2);
  FloatBuffer a = alloc(100);
  const float* pa = a.data;
  CHECK(a.size == 100);
  FloatBuffer copy = a;
  a = {};
  FloatBuffer b = alloc(100);  // `copy` still holds a's buffer: a new one
  CHECK(b.data != pa);
  CHECK(made == 2);
  copy = {};
  FloatBuffer c = alloc(60);  // a's buffer is idle and large enough
  CHECK(c.data == pa);
  CHECK(c.size == 60);
  CHECK(made == 2);
  FloatBuffer d = alloc(200);  // larger than any idle buffer
  CHECK(made == 3);
  b = c = d = {};              // three go back; the pool keeps two
  FloatBuffer e = alloc(100), f = alloc(100), g = alloc(100);
  CHECK(made == 4);
  // A loader over several epochs allocates only about as many buffers as it has in flight.
  auto src = synthetic_source(4, 32);  // 32 samples
  LoaderOptions o;
  o.batch_size = 2;
  o.threads = 2;
  o.prefetch = 2;
  made = 0;
  o.allocator = recycling_allocator(
      [&made](size_t floats) {
        ++made;
        return FloatBuffer::heap(floats);
      },
      5);
  Loader loader(src, TransformSpec::eval(16), o);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) CHECK(batch->n == 2);
  }
  CHECK(made <= 5);  // 48 batches
  MESSAGE("48 batches from ", made.load(), " buffers");
}
