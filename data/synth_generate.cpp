// synth: the dataset-level functions (class list, in-memory generation, writing an ImageFolder).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/error.h"
#include "data/encode.h"
#include "data/synth.h"

namespace hemo::data::synth {
namespace fs = std::filesystem;

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"basophil",   "eosinophil", "erythroblast",
                                                 "ig",         "lymphocyte", "monocyte",
                                                 "neutrophil", "platelet"};
  return names;
}

namespace {

// Runs job(i) for i in [0, n) on `threads` threads; rethrows the first error.
template <class Job>
void parallel_for(int64_t n, int threads, const Job& job) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(n, 1)));
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto run = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

void check_args(int per_class, int size) {
  if (per_class <= 0) throw Error(cat("synth: --per-class ", per_class, " must be > 0"));
  if (size < 32 || size > 4096) throw Error(cat("synth: --size ", size, " not in 32..4096"));
}

}  // namespace

Dataset generate_in_memory(int per_class, int size, uint64_t seed, int threads) {
  check_args(per_class, size);
  Dataset d;
  d.classes = class_names();
  const int64_t n = int64_t{per_class} * kNumClasses;
  d.images.resize(static_cast<size_t>(n));
  d.labels.resize(static_cast<size_t>(n));
  parallel_for(n, threads, [&](int64_t i) {
    const int c = static_cast<int>(i / per_class);
    d.images[static_cast<size_t>(i)] = draw_cell(c, size, seed, i % per_class);
    d.labels[static_cast<size_t>(i)] = c;
  });
  return d;
}

int64_t generate(const fs::path& out_dir, int per_class, int size, uint64_t seed,
                 const std::string& format, int threads) {
  check_args(per_class, size);
  if (format != "png" && format != "jpg")
    throw Error(cat("synth: format '", format, "' is not png or jpg"));
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) throw Error(cat(out_dir.string(), ": exists and is not a folder"));
    if (!fs::is_empty(out_dir, ec))
      throw Error(cat(out_dir.string(), ": folder is not empty; synth writes into a new or empty folder"));
  }
  for (const std::string& c : class_names()) {
    fs::create_directories(out_dir / c, ec);
    if (ec) throw Error(cat((out_dir / c).string(), ": cannot create folder (", ec.message(), ")"));
  }
  const int64_t n = int64_t{per_class} * kNumClasses;
  parallel_for(n, threads, [&](int64_t i) {
    const int c = static_cast<int>(i / per_class);
    const int64_t k = i % per_class;
    char name[64];
    std::snprintf(name, sizeof name, "_%05lld.", static_cast<long long>(k));
    const fs::path path = out_dir / class_names()[static_cast<size_t>(c)] /
                          (class_names()[static_cast<size_t>(c)] + name + format);
    save_image(path, draw_cell(c, size, seed, k), 95);
  });
  return n;
}

}  // namespace hemo::data::synth
