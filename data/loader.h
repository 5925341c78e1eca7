// Loader: N worker threads decode and transform samples into batches, ahead of the consumer.
//
//   auto src = std::make_shared<FileSource>(manifest.samples(Split::Train));
//   Loader loader(src, TransformSpec::train(224), {.batch_size = 32, .threads = 2, .seed = 7});
//   for (int64_t epoch = 0; epoch < E; ++epoch) {
//     loader.start_epoch(epoch);
//     while (std::optional<Batch> b = loader.next()) { ... }
//   }
//
// Determinism: batch b of epoch e holds (unsharded; see LoaderOptions::shard_rank) the samples at positions [b*B, (b+1)*B) of the epoch's
// order (sampler.h, a function of (seed, e)), and sample k's augmentation draws come from
// Rng::derive(seed', e, b*B + k). So the batches are bit-identical whatever `threads` is (0 runs
// everything in the calling thread) and whatever order the threads finish in; next() hands them
// out in order through a reorder buffer.
// Backpressure: at most `prefetch` batches are made or kept ahead of the consumer.
// Errors: a sample that fails (unreadable or corrupt file) fails its batch; next() rethrows that
// hemo::Error (it names the file) when the consumer reaches the batch, after which the epoch is
// over (next() returns nullopt until start_epoch). Workers stop taking new batches after an error.
// Unless LoaderOptions::on_skip is set: then such a sample is left out of its batch (Batch::n
// counts the others; Batch::skipped names it) and the run goes on. next() calls on_skip, in the
// consumer's thread and in batch order, the first time each file fails (not again in later
// epochs); an unsharded batch left with no sample is passed over (a sharded one comes with n == 0,
// as every rank must see every batch).
// Threads: when a worker thread cannot be started (std::thread throws std::system_error, e.g. at
// the process's limit of threads), the ones already started are stopped and joined and the
// constructor throws a hemo::Error that says so and suggests fewer threads or `ulimit -u`.
// Shutdown: the destructor (also during an epoch, also after an error) stops the workers and joins
// them; a worker finishes the batch it is making first.
// Thread safety: one consumer thread calls start_epoch/next; the workers are internal.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/batch.h"
#include "data/source.h"
#include "data/transforms.h"

namespace hemo::data {

enum class Order {
  Sequential,  // 0..N-1
  Shuffle,     // a new permutation each epoch
  Weighted,    // WeightedRandomSampler with replacement (weights below)
};

struct LoaderOptions {
  int64_t batch_size = 32;
  int threads = 2;          // worker threads; 0: batches are made in next(), in the caller's thread
  int prefetch = 0;         // batches in flight or ready ahead of the consumer; 0: 2 * threads
  Order order = Order::Shuffle;
  std::vector<double> weights;    // Order::Weighted; empty: 1 / class count (balanced classes)
  int64_t samples_per_epoch = 0;  // Order::Weighted; 0: the source's size
  bool drop_last = false;
  uint64_t seed = 0;
  // Data-parallel sharding: rank `shard_rank` of `shard_count` (train/comm.h). Batch b of this
  // rank holds positions [b*G + r*B, min(b*G + (r+1)*B, end of global batch b)) of the epoch's
  // order, G = shard_count * B: so the ranks' batches b together are exactly batch b of one
  // process with batch size G. A rank whose share of the last, partial global batch is empty gets
  // a batch with n == 0 (every rank sees the same number of batches). drop_last drops a partial
  // global batch. Augmentation draws depend on the global position, as without sharding.
  int shard_rank = 0, shard_count = 1;
  BatchAllocator allocator;       // empty: recycling_allocator(FloatBuffer::heap) (batch.h)
  // Starts one worker thread; empty: std::thread(body). A seam for tests (a starter that throws
  // std::system_error as std::thread does when the system refuses a thread).
  std::function<std::thread(std::function<void()> body)> start_thread;
  // Set: a sample that cannot be loaded is skipped and reported here (see Errors above); e.g.
  // SkipLog::callback() (skip_log.h). Empty: it fails its batch.
  std::function<void(const Skipped&)> on_skip;
};

class Loader {
 public:
  Loader(std::shared_ptr<const ImageSource> source, TransformSpec spec, LoaderOptions opts);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins (or restarts) an epoch; batches of an unfinished previous epoch are discarded.
  // first_batch > 0 skips the epoch's first batches (a resumed, interrupted epoch): the batches
  // delivered are exactly those the whole epoch would have delivered from that one on.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch, nullopt at its end. Throws hemo::Error from a failed sample.
  std::optional<Batch> next();

  int64_t batches_per_epoch() const { return num_batches_; }
  int64_t samples_per_epoch() const { return epoch_size_; }
  int64_t shard_samples_per_epoch() const;  // the images this shard's batches hold per epoch
  const ImageSource& source() const { return *source_; }
  const TransformSpec& spec() const { return spec_; }

  // Makes batch `number` of `epoch` for the given epoch order (what a worker runs). Pure: the
  // same arguments give the same batch.
  Batch make_batch(int64_t epoch, int64_t number, const std::vector<int64_t>& order) const;
  // The sample order of an epoch (sampler.h).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  struct Result {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  void worker();
  std::optional<Batch> next_made();       // the next batch as a worker made it
  std::optional<Batch> deliver(Batch b);  // reports b's skipped samples; nullopt: pass b over
  void start_threads();
  void stop_threads();
  bool can_claim() const;  // with mu_ held

  std::shared_ptr<const ImageSource> source_;
  TransformSpec spec_;
  LoaderOptions opts_;
  int64_t epoch_size_ = 0, num_batches_ = 0;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false;
  bool started_ = false;
  bool failed_ = false;       // a batch of this epoch failed: workers take no more
  bool finished_ = false;     // the epoch ended (all delivered, or an error was thrown)
  uint64_t generation_ = 0;   // bumped by start_epoch; results of older generations are dropped
  int64_t epoch_ = 0;
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t next_claim_ = 0, next_deliver_ = 0;
  std::map<int64_t, Result> ready_;
  std::vector<std::thread> threads_;
  std::set<std::string> reported_;  // files already handed to on_skip (the consumer's thread)
};

}  // namespace hemo::data
