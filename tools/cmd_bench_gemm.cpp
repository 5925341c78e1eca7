// `hemo bench gemm`: times the production GEMM (kernels/gemm.h, float) on the shapes convolution
// and linear layers give it, and prints GFLOP/s (2 m n k per product; median and best of the timed
// runs, after warm-up runs).
//   hemo bench gemm [--shapes 64x2500x288,288x5000x64:TN] [--threads 2] [--repeats 9] [--warmup 3]
//                   [--isa avx2] [--precision bf16] [--clock cpu]
// A shape is MxNxK (C is M x N) with an optional :AB transpose code (N or T for op(A), op(B)).
// --precision bf16 times the bf16 products of --precision bf16 (kernels/gemm.h: set_gemm_bf16; AMX
// where the CPU has it). tools/bench/torch_gemm_bench.py runs the same shapes through torch for a side-by-side table.
#include "tools/command.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/precision.h"
#include "tensor/rng.h"
#include "tools/bench_clock.h"

namespace {

// The products hemo's conv2d issues for the 7-block CNN at batch 32 (forward, data and filter
// gradients of its second and last convolutions), a wider forward and a square reference.
const char* kDefaultShapes =
    "64x5000x288,64x20000x288,288x5000x64:TN,64x288x5000:NT,256x128x2304,2304x128x256:TN,256x2304x128:NT,"
    "512x512x512";

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool ta = false, tb = false;
  std::string text;
};

GemmShape parse_shape(const std::string& text) {
  GemmShape s;
  s.text = text;
  char x1 = 0, x2 = 0;
  std::istringstream in(text);
  in >> s.m >> x1 >> s.n >> x2 >> s.k;
  HEMO_CHECK(in && x1 == 'x' && x2 == 'x' && s.m > 0 && s.n > 0 && s.k > 0, "bench gemm: bad shape '", text,
             "' (want MxNxK or MxNxK:NT)");
  std::string code;
  if (in.peek() == ':') {
    in.get();
    in >> code;
    HEMO_CHECK(code.size() == 2 && (code[0] == 'N' || code[0] == 'T') && (code[1] == 'N' || code[1] == 'T'),
               "bench gemm: bad transpose code in '", text, "' (want NN, NT, TN or TT)");
    s.ta = code[0] == 'T';
    s.tb = code[1] == 'T';
  }
  return s;
}

std::vector<float> random_floats(int64_t count, uint64_t seed) {
  hemo::Generator g(seed, 9);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = static_cast<float>(g.uniform(-1.0, 1.0));
  return v;
}

void add_bench_gemm_command(CLI::App& bench) {
  struct Options {
    std::string shapes = kDefaultShapes;
    int threads = 0;
    int repeats = 9;
    int warmup = 3;
    std::string isa;
    hemo::Precision precision = hemo::Precision::fp32;
    std::string clock = "wall";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand("gemm", "Time the CPU GEMM on convolution-sized products; print GFLOP/s");
  cmd->add_option("--shapes", o->shapes, "Comma-separated MxNxK[:NT] products")->capture_default_str();
  cmd->add_option("--threads", o->threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::Range(0, 1024));
  cmd->add_option("--repeats", o->repeats, "Timed runs per shape")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--isa", o->isa, "Force a micro-kernel variant: amx (bf16 only), avx512, avx2 or sse2");
  hemo::cli::add_choice_option(cmd, "--precision", o->precision,
                               "fp32, or bf16 products with float32 sums (tf32 is fp32 on the CPU)");
  cmd->add_option("--clock", o->clock, "wall, or cpu (process CPU time; for --threads 1 on a busy machine)")
      ->capture_default_str();
  cmd->callback([o] {
    const hemo::cli::BenchClock clock(o->clock);
    if (o->threads > 0) omp_set_num_threads(o->threads);
    HEMO_CHECK(o->isa.empty() || hemo::cpu::gemm_select_isa(o->isa), "bench gemm: this CPU cannot run --isa ",
               o->isa);
    hemo::set_precision(o->precision);
    std::printf("bench gemm: kernel %s, %d threads, %d warm-up + %d timed runs per shape, %s\n",
                hemo::cpu::gemm_kernel_name<float>(), omp_get_max_threads(), o->warmup, o->repeats, clock.name());
    std::stringstream list(o->shapes);
    std::string item;
    while (std::getline(list, item, ',')) {
      const GemmShape s = parse_shape(item);
      const std::vector<float> a = random_floats(s.m * s.k, 1), b = random_floats(s.k * s.n, 2);
      std::vector<float> c(static_cast<size_t>(s.m * s.n));
      std::vector<double> seconds;
      for (int r = 0; r < o->warmup + o->repeats; ++r) {
        const double start = clock.now();
        const hemo::GemmShape g{.trans_a = s.ta, .trans_b = s.tb, .m = s.m, .n = s.n, .k = s.k,
                                .lda = s.ta ? s.m : s.k, .ldb = s.tb ? s.k : s.n, .ldc = s.n};
        hemo::cpu::gemm(hemo::cpu::backend, g, 1.0f, a.data(), b.data(), 0.0f, c.data());
        const double t = clock.now() - start;
        if (r >= o->warmup) seconds.push_back(t);
      }
      std::sort(seconds.begin(), seconds.end());
      const double flop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
      const double median = seconds[seconds.size() / 2], best = seconds.front();
      std::printf("gemm %-20s %9.3f ms  median %7.1f GFLOP/s  best %7.1f GFLOP/s\n", s.text.c_str(), median * 1e3,
                  flop / median * 1e-9, flop / best * 1e-9);
      std::fflush(stdout);
    }
  });
}

}  // namespace
HEMO_COMMAND("bench", 20, add_bench_gemm_command);
