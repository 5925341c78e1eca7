// `hemo bench data`: decodes and transforms every image of an ImageFolder through the threaded
// loader and prints images/s (median over the timed epochs, after warm-up epochs).
//   hemo bench data --data DIR --size 224 [--threads N] [--augment] [--batch 32] [--epochs 3]
// Skipped files (not decodable images) are reported with their reason before timing. The
// transforms are data::TransformSpec::train(size) with --augment, TransformSpec::eval(size)
// otherwise; tools/bench/torch_data_bench.py runs the torchvision equivalent for comparison.
#include "tools/command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/image_folder.h"
#include "data/loader.h"
#include "data/source.h"
#include "data/transforms.h"

namespace {

std::string describe(const hemo::data::TransformSpec& s) {
  char buf[256];
  if (!s.augment) {
    std::snprintf(buf, sizeof buf, "eval: resize shorter side to %d, center crop %dx%d, normalize",
                  s.resize_shorter > 0 ? s.resize_shorter : s.size, s.size, s.size);
  } else {
    std::snprintf(buf, sizeof buf,
                  "augment: random resized crop %dx%d (scale %.2f-%.2f), hflip %.1f, vflip %.1f, "
                  "%srotation +-%.0f deg, color jitter %.2f/%.2f/%.2f/%.2f, normalize",
                  s.size, s.size, double(s.scale_min), double(s.scale_max), double(s.hflip),
                  double(s.vflip), s.quarter_turns ? "quarter turns, " : "", double(s.rotation),
                  double(s.jitter.brightness), double(s.jitter.contrast), double(s.jitter.saturation), double(s.jitter.hue));
  }
  return buf;
}

}  // namespace

namespace {
void add_bench_data_command(CLI::App& bench) {
  struct Options {
    std::string data;
    int size = 224;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    bool augment = false;
    int64_t batch = 32;
    int epochs = 3;
    int warmup = 1;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand("data", "Decode and transform every image of an ImageFolder; print images/s");
  cmd->add_option("--data", o->data, "ImageFolder root (one subfolder per class)")->required();
  cmd->add_option("--size", o->size, "Output side in pixels")->check(CLI::Range(1, 8192))->capture_default_str();
  cmd->add_option("--threads", o->threads, "Loader worker threads (0: in the main thread)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->add_flag("--augment", o->augment, "Training augmentation instead of the evaluation transform");
  cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Timed passes over the data")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed passes first")->check(CLI::Range(0, 1000))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Shuffle and augmentation seed")->capture_default_str();
  cmd->callback([o] {
    using namespace hemo::data;
    const ImageFolder folder = scan_image_folder(o->data);
    std::cout << "bench data: " << folder.summary() << "\n" << folder.skipped_report();
    const TransformSpec spec = o->augment ? TransformSpec::train(o->size) : TransformSpec::eval(o->size);
    LoaderOptions lo;
    lo.batch_size = o->batch;
    lo.threads = o->threads;
    lo.seed = o->seed;
    lo.order = Order::Shuffle;
    Loader loader(std::make_shared<FileSource>(folder.samples), spec, lo);
    std::cout << "transform: " << describe(spec) << "\n"
              << "loader: " << o->threads << " threads, batch " << o->batch << ", " << o->warmup
              << " warm-up + " << o->epochs << " timed epochs\n";
    std::vector<double> rates;
    for (int e = 0; e < o->warmup + o->epochs; ++e) {
      const auto start = std::chrono::steady_clock::now();
      loader.start_epoch(e);
      int64_t images = 0;
      double checksum = 0;
      while (auto b = loader.next()) {
        images += b->n;
        checksum += b->images.data[0];
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = static_cast<double>(images) / secs;
      const bool timed = e >= o->warmup;
      if (timed) rates.push_back(rate);
      std::printf("%s %d: %lld images in %.3f s = %.1f images/s\n", timed ? "epoch" : "warm-up",
                  timed ? e - o->warmup + 1 : e + 1, static_cast<long long>(images), secs, rate);
      (void)checksum;
    }
    std::sort(rates.begin(), rates.end());
    std::printf("median: %.1f images/s\n", rates[rates.size() / 2]);
    std::fflush(stdout);
  });
}
}  // namespace
HEMO_COMMAND("bench", 10, add_bench_data_command);
