#include "data/loader.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "core/error.h"
#include "data/rng.h"
#include "data/sampler.h"

namespace hemo::data {

namespace {
constexpr uint64_t kAugmentSalt = 0x4155'474D'454E'5400ull;  // "AUGMENT"
}  // namespace

Loader::Loader(std::shared_ptr<const ImageSource> source, TransformSpec spec, LoaderOptions opts)
    : source_(std::move(source)), spec_(spec), opts_(std::move(opts)) {
  if (!source_) throw Error("Loader: no source");
  spec_.validate();
  if (opts_.batch_size <= 0) throw Error(cat("Loader: batch_size ", opts_.batch_size, " <= 0"));
  if (opts_.threads < 0) throw Error(cat("Loader: threads ", opts_.threads, " < 0"));
  if (opts_.prefetch < 0) throw Error(cat("Loader: prefetch ", opts_.prefetch, " < 0"));
  if (opts_.prefetch == 0) opts_.prefetch = 2 * std::max(opts_.threads, 1);
  const int64_t n = source_->size();
  if (n <= 0) throw Error("Loader: the source has no sample");
  if (opts_.order == Order::Weighted) {
    if (opts_.weights.empty()) {
      const std::vector<int64_t> labels = source_->labels();
      const int64_t classes = *std::max_element(labels.begin(), labels.end()) + 1;
      opts_.weights = inverse_frequency_weights(labels, classes);
    }
    if (static_cast<int64_t>(opts_.weights.size()) != n)
      throw Error(cat("Loader: ", opts_.weights.size(), " weights for ", n, " samples"));
    epoch_size_ = opts_.samples_per_epoch > 0 ? opts_.samples_per_epoch : n;
  } else {
    epoch_size_ = n;
  }
  if (opts_.shard_count < 1 || opts_.shard_rank < 0 || opts_.shard_rank >= opts_.shard_count)
    throw Error(cat("Loader: shard ", opts_.shard_rank, " of ", opts_.shard_count, " does not exist"));
  const int64_t global_batch = opts_.batch_size * opts_.shard_count;
  num_batches_ = opts_.drop_last ? epoch_size_ / global_batch : (epoch_size_ + global_batch - 1) / global_batch;
  // Recycled heap buffers: prefetched batches, the one being consumed, and one being made per worker.
  if (!opts_.allocator)
    opts_.allocator = recycling_allocator(FloatBuffer::heap, static_cast<size_t>(opts_.prefetch + opts_.threads + 1));
  start_threads();
}

void Loader::start_threads() {
  threads_.reserve(static_cast<size_t>(opts_.threads));
  for (int t = 0; t < opts_.threads; ++t) {
    try {
      std::function<void()> body = [this] { worker(); };
      threads_.push_back(opts_.start_thread ? opts_.start_thread(std::move(body)) : std::thread(std::move(body)));
    } catch (const std::system_error& e) {
      stop_threads();  // a std::thread destroyed while joinable would end the process
      throw Error(cat("data loader: cannot start worker thread ", t + 1, " of ", opts_.threads, " (", e.what(),
                      "): the process may have reached its limit of threads or memory; use fewer loader ",
                      "threads (--threads 1, or --threads 0 to decode in the main thread) or raise the limit ",
                      "(ulimit -u)"));
    }
  }
}

void Loader::stop_threads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

Loader::~Loader() { stop_threads(); }

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  switch (opts_.order) {
    case Order::Sequential: return sequential_indices(source_->size());
    case Order::Shuffle: return shuffled_indices(source_->size(), opts_.seed, epoch);
    case Order::Weighted: return weighted_indices(opts_.weights, epoch_size_, opts_.seed, epoch);
  }
  return {};
}

int64_t Loader::shard_samples_per_epoch() const {
  const int64_t b = opts_.batch_size, g = b * opts_.shard_count, full = epoch_size_ / g;
  const int64_t rest = opts_.drop_last ? 0 : epoch_size_ % g;
  return full * b + std::clamp<int64_t>(rest - opts_.shard_rank * b, 0, b);
}

Batch Loader::make_batch(int64_t epoch, int64_t number, const std::vector<int64_t>& order) const {
  const int64_t global_begin = number * opts_.batch_size * opts_.shard_count;
  const int64_t size = static_cast<int64_t>(order.size());
  if (number < 0 || global_begin >= size) throw Error(cat("Loader: batch ", number, " is past the epoch's end"));
  const int64_t global_end = std::min<int64_t>(global_begin + opts_.batch_size * opts_.shard_count, size);
  const int64_t begin = std::min(global_begin + opts_.shard_rank * opts_.batch_size, global_end);
  const int64_t end = std::min(begin + opts_.batch_size, global_end);
  Batch b;
  b.epoch = epoch;
  b.number = number;
  b.n = end - begin;
  b.c = 3;
  b.h = b.w = spec_.size;
  const size_t per = spec_.output_floats();
  if (b.n == 0) return b;  // this rank's share of the last global batch is empty
  b.images = opts_.allocator(per * static_cast<size_t>(b.n));
  if (!b.images.data || b.images.size < per * static_cast<size_t>(b.n))
    throw Error(cat("Loader: the batch allocator returned ", b.images.size, " floats, need ",
                    per * static_cast<size_t>(b.n)));
  int64_t k = 0;  // the next free slot: skipped samples leave none
  for (int64_t pos = begin; pos < end; ++pos) {
    const int64_t idx = order[static_cast<size_t>(pos)];
    Rng rng = Rng::derive(opts_.seed ^ kAugmentSalt, static_cast<uint64_t>(epoch), static_cast<uint64_t>(pos));
    try {
      const Image img = source_->load(idx);
      transform_into(spec_, img, rng, b.image(k));
    } catch (const std::exception& e) {
      // Every message names the sample; decode errors already start with the file's path.
      const std::string who = source_->describe(idx), msg = e.what();
      const bool named = msg.rfind(who, 0) == 0 && dynamic_cast<const Error*>(&e);
      if (opts_.on_skip) {
        b.skipped.push_back({who, named ? msg : cat(who, ": ", msg)});
        continue;
      }
      if (named) throw;
      throw Error(cat(who, ": ", msg));
    }
    b.indices.push_back(idx);
    b.labels.push_back(source_->label(idx));
    ++k;
  }
  b.n = k;
  return b;
}

bool Loader::can_claim() const {
  return started_ && !failed_ && next_claim_ < num_batches_ &&
         next_claim_ < next_deliver_ + opts_.prefetch;
}

void Loader::worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || can_claim(); });
    if (stop_) return;
    const int64_t number = next_claim_++;
    const uint64_t gen = generation_;
    const int64_t epoch = epoch_;
    const std::shared_ptr<const std::vector<int64_t>> order = order_;
    lock.unlock();
    Result r;
    try {
      r.batch = make_batch(epoch, number, *order);
    } catch (...) {
      r.error = std::current_exception();
    }
    lock.lock();
    if (gen != generation_) continue;  // the epoch was restarted meanwhile
    if (r.error) failed_ = true;
    ready_[number] = std::move(r);
    ready_cv_.notify_all();
  }
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  HEMO_CHECK(first_batch >= 0 && first_batch <= num_batches_, "Loader: first batch ", first_batch, " of an epoch of ",
             num_batches_, " batches");
  auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    next_claim_ = next_deliver_ = first_batch;
    ready_.clear();
    started_ = true;
    failed_ = finished_ = false;
  }
  work_cv_.notify_all();
}

std::optional<Batch> Loader::next() {
  for (;;) {  // more than once only to pass over a batch whose every sample was skipped
    std::optional<Batch> b = next_made();
    if (!b) return b;
    if (std::optional<Batch> out = deliver(std::move(*b))) return out;
  }
}

std::optional<Batch> Loader::next_made() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_) throw Error("Loader: next() before start_epoch()");
  if (finished_ || next_deliver_ >= num_batches_) {
    finished_ = true;
    return std::nullopt;
  }
  if (threads_.empty()) {
    const int64_t number = next_deliver_++;
    const int64_t epoch = epoch_;
    const auto order = order_;
    lock.unlock();
    try {
      return make_batch(epoch, number, *order);
    } catch (...) {
      lock.lock();
      finished_ = true;
      throw;
    }
  }
  ready_cv_.wait(lock, [this] { return ready_.count(next_deliver_) != 0; });
  auto node = ready_.extract(next_deliver_);
  ++next_deliver_;
  lock.unlock();
  work_cv_.notify_all();  // a prefetch slot is free
  Result& r = node.mapped();
  if (r.error) {
    lock.lock();
    finished_ = true;
    ready_.clear();
    lock.unlock();
    std::rethrow_exception(r.error);
  }
  return std::move(r.batch);
}

std::optional<Batch> Loader::deliver(Batch b) {
  for (const Skipped& s : b.skipped)
    if (reported_.insert(s.path).second) opts_.on_skip(s);
  if (b.n == 0 && !b.skipped.empty() && opts_.shard_count == 1) return std::nullopt;
  return b;
}

}  // namespace hemo::data
