// `hemo bench conv`: times nn::conv2d (float32, CPU) forward and backward on whole layers, by
// default the seven 3x3 convolutions of the 7-block CNN at batch 32, and prints milliseconds and
// GFLOP/s (2 MACs per output element and tap; the backward does twice the forward's work, or
// once when the input needs no gradient, as the first layer's).
//   hemo bench conv [--layers 32x3x100x100:32x3x3:s1p1,...] [--threads 2] [--repeats 7] [--warmup 2]
//                   [--clock cpu]
// A layer is NxCxHxW:KxRxS[:sSpP[gG]] (stride S, padding P, groups G). The first layer of the
// list is timed without an input gradient when its input has 3 channels (an image).
// tools/bench/torch_conv_bench.py runs the same layers through torch for comparison.
#include "tools/command.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nn/ops_conv.h"
#include "tensor/autograd.h"
#include "tools/bench_clock.h"
#include "tools/bench_common.h"

namespace {

const char* kDefaultLayers =
    "32x3x100x100:32x3x3:s1p1,32x32x50x50:64x3x3:s1p1,32x64x25x25:64x3x3:s1p1,32x64x13x13:64x3x3:s1p1,"
    "32x64x7x7:128x3x3:s1p1,32x128x4x4:256x3x3:s1p1,32x256x2x2:256x3x3:s1p1";

struct Layer {
  int64_t n, c, h, w, k, r, s, stride = 1, pad = 0, groups = 1;
  std::string text;
};

Layer parse_layer(const std::string& text) {
  static const std::regex re(R"((\d+)x(\d+)x(\d+)x(\d+):(\d+)x(\d+)x(\d+)(?::s(\d+)p(\d+)(?:g(\d+))?)?)");
  std::smatch m;
  HEMO_CHECK(std::regex_match(text, m, re), "bench conv: bad layer '", text, "' (want NxCxHxW:KxRxS[:sSpP[gG]])");
  auto num = [&](size_t i, int64_t fallback) { return m[i].matched ? std::stoll(m[i].str()) : fallback; };
  return {num(1, 0), num(2, 0), num(3, 0), num(4, 0), num(5, 0), num(6, 0), num(7, 0),
          num(8, 1), num(9, 0), num(10, 1), text};
}

hemo::Tensor random_tensor(const hemo::Shape& shape, uint64_t seed) {
  return hemo::cli::bench::random_tensor(shape, hemo::Device::cpu(), seed);
}

double median(std::vector<double> v) { return hemo::cli::bench::summarize(std::move(v)).median; }

void add_bench_conv_command(CLI::App& bench) {
  struct Options {
    std::string layers = kDefaultLayers;
    int threads = 0, repeats = 7, warmup = 2;
    std::string clock = "wall";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand("conv", "Time conv2d forward and backward on CNN layers; print ms and GFLOP/s");
  cmd->add_option("--layers", o->layers, "Comma-separated NxCxHxW:KxRxS[:sSpP[gG]] layers")->capture_default_str();
  cmd->add_option("--threads", o->threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::Range(0, 1024));
  cmd->add_option("--repeats", o->repeats, "Timed runs per layer")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--clock", o->clock, "wall, or cpu (process CPU time; for --threads 1 on a busy machine)")
      ->capture_default_str();
  cmd->callback([o] {
    using namespace hemo;
    const cli::BenchClock clock(o->clock);
    if (o->threads > 0) omp_set_num_threads(o->threads);
    std::printf("bench conv: %d threads, %d warm-up + %d timed runs per layer (median), %s\n", omp_get_max_threads(),
                o->warmup, o->repeats, clock.name());
    std::stringstream list(o->layers);
    std::string item;
    double total_fwd = 0, total_bwd = 0;
    for (bool first = true; std::getline(list, item, ','); first = false) {
      const Layer l = parse_layer(item);
      Tensor x = random_tensor({l.n, l.c, l.h, l.w}, 1);
      Tensor w = random_tensor({l.k, l.c / l.groups, l.r, l.s}, 2).requires_grad_();
      Tensor b = random_tensor({l.k}, 3).requires_grad_();
      const bool input_grad = !(first && l.c == 3);
      if (input_grad) x.requires_grad_();
      auto run = [&] { return nn::conv2d(x, w, b, {l.stride, l.stride}, {l.pad, l.pad}, {1, 1}, l.groups); };
      const Tensor gy = random_tensor(run().shape(), 4);
      std::vector<double> fwd, bwd;
      for (int r = 0; r < o->warmup + o->repeats; ++r) {
        x.zero_grad();
        w.zero_grad();
        b.zero_grad();
        const double t0 = clock.now();
        Tensor y = run();
        const double t1 = clock.now();
        y.backward(gy);
        const double t2 = clock.now();
        if (r < o->warmup) continue;
        fwd.push_back(t1 - t0);
        bwd.push_back(t2 - t1);
      }
      const double macs = static_cast<double>(gy.numel()) * static_cast<double>(l.c / l.groups * l.r * l.s);
      const double f = median(fwd), bw = median(bwd);
      total_fwd += f;
      total_bwd += bw;
      std::printf("conv %-32s fwd %8.3f ms %7.1f GFLOP/s   bwd%s %8.3f ms %7.1f GFLOP/s\n", l.text.c_str(), f * 1e3,
                  2 * macs / f * 1e-9, input_grad ? "" : " (weights only)", bw * 1e3,
                  (input_grad ? 4 : 2) * macs / bw * 1e-9);
      std::fflush(stdout);
    }
    std::printf("total fwd %.3f ms, bwd %.3f ms\n", total_fwd * 1e3, total_bwd * 1e3);
  });
}

}  // namespace
HEMO_COMMAND("bench", 21, add_bench_conv_command);
