// Loader sharding for data-parallel training (LoaderOptions::shard_rank): the ranks' batches of
// step b, in rank order, are batch b of one loader with the global batch size, images included.
#include <doctest/doctest.h>

#include <cstring>

#include "core/error.h"
#include "data/loader.h"
#include "data_test_util.h"

using namespace hemo::data;

namespace {

std::vector<Batch> epoch_of(const std::shared_ptr<MemorySource>& src, LoaderOptions o, int64_t epoch) {
  Loader loader(src, TransformSpec::train(24), o);
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

}  // namespace

TEST_CASE("sharded batches of every rank put together are the global batch, the partial last one too") {
  synth::Dataset d = synth::generate_in_memory(3, 40, 9, 2);
  auto src = std::make_shared<MemorySource>(std::move(d.images), std::move(d.labels));
  const int64_t n = src->size(), per_rank = 5;
  for (const int ranks : {2, 3}) {
    CAPTURE(ranks);
    LoaderOptions global;
    global.batch_size = per_rank * ranks;
    global.seed = 11;
    global.threads = 1;
    const std::vector<Batch> whole = epoch_of(src, global, 2);
    std::vector<std::vector<Batch>> shards;
    for (int r = 0; r < ranks; ++r) {
      LoaderOptions o = global;
      o.batch_size = per_rank;
      o.shard_rank = r;
      o.shard_count = ranks;
      shards.push_back(epoch_of(src, o, 2));
      REQUIRE(shards.back().size() == whole.size());
      int64_t mine = 0;
      for (const Batch& b : shards.back()) mine += b.n;
      Loader counter(src, TransformSpec::train(24), o);
      CHECK(counter.shard_samples_per_epoch() == mine);
    }
    int64_t seen = 0, empty = 0;
    for (size_t b = 0; b < whole.size(); ++b) {
      std::vector<int64_t> indices;
      std::vector<float> pixels;
      for (int r = 0; r < ranks; ++r) {
        const Batch& s = shards[static_cast<size_t>(r)][b];
        indices.insert(indices.end(), s.indices.begin(), s.indices.end());
        if (s.n > 0) pixels.insert(pixels.end(), s.images.data, s.images.data + s.image(0).size() * static_cast<size_t>(s.n));
        empty += s.n == 0;
      }
      CHECK(indices == whole[b].indices);
      REQUIRE(pixels.size() == whole[b].image(0).size() * static_cast<size_t>(whole[b].n));
      CHECK(std::memcmp(pixels.data(), whole[b].images.data, pixels.size() * sizeof(float)) == 0);
      seen += whole[b].n;
    }
    CHECK(seen == n);
    if (n % (per_rank * ranks) != 0 && n % (per_rank * ranks) <= per_rank * (ranks - 1)) CHECK(empty > 0);
  }
  LoaderOptions bad;
  bad.shard_rank = 2;
  bad.shard_count = 2;
  CHECK_THROWS_WITH_AS(Loader(src, TransformSpec::train(24), bad), "Loader: shard 2 of 2 does not exist", hemo::Error);
}
