// hemo-infer: the deploy binary. Classifies images with a hemo model file and prints each one's
// top-k classes, in the format of `hemo predict` (tools/prediction_report.h):
//   hemo-infer [MODEL.safetensors | --model MODEL] IMAGE... [--top K] [--json] [--threads N]
//              [--device auto|cpu|cuda] [--no-fold] [--channels-last] [--bench RUNS]
// Without a model (no --model, and a first argument that does not end in .safetensors), the best
// shipped model (weights/shipped.h: beside the binary, in an installed share/hemo/weights, or
// $HEMO_WEIGHTS_DIR) classifies the images.
// An IMAGE of "-" reads image paths from standard input, one per line. The model file says
// everything else (architecture, classes, input size, normalization: weights/model_meta.h); the
// model is loaded with its batch norms folded and nothing that could record autograd state
// (api/inference_model.h).
// Exit status: 0 when every image was classified; 1 when the model could not be loaded, or when
// some image could not be classified (each is reported on stderr and, with --json, as an entry
// {"path", "error"}; the others are still classified); 2 for a command-line error. The command
// line is parsed with CLI11, as hemo's is; `--help` describes it.
// Two builds (tools/CMakeLists.txt): hemo-infer-cpu, CPU only and statically linked but for the C
// library, and hemo-infer, linked like hemo (with the CUDA backend when hemo has it).
#include <omp.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <stdexcept>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "api/inference_model.h"
#include "core/host_memory.h"
#include "core/options.h"
#include "kernels/precision.h"
#include "tensor/autograd.h"
#include "tools/command.h"
#include "tools/prediction_report.h"
#include "tools/process_env.h"

namespace {
// An exception's text; for a std::bad_alloc (an allocation outside the counted tensors), the
// allocator's figures and advice, as hemo prints them (core/host_memory.h).
std::string message_of(const std::exception& e) {
  return dynamic_cast<const std::bad_alloc*>(&e) ? hemo::out_of_host_memory_message(0) : std::string(e.what());
}
}  // namespace

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model;
  hemo::DeviceChoice device = hemo::DeviceChoice::auto_;
  hemo::Precision precision = hemo::Precision::tf32;
  std::vector<std::string> images;
  int top = 3, threads = 0, bench = 0;
  bool json = false, fold = true, channels_last = false;
  std::string tta = "none";
};

// An integer option of at least `min`; a bad value is a usage error naming the option.
void add_int_option(CLI::App& app, const std::string& flag, int& target, int min, const std::string& help) {
  app.add_option_function<std::string>(
         flag,
         [flag, &target, min](const std::string& value) {
           size_t used = 0;
           int v = 0;
           try {
             v = std::stoi(value, &used);
           } catch (const std::exception&) {
             used = 0;
           }
           if (used != value.size() || value.empty() || v < min)
             throw UsageError(flag + " needs an integer of at least " + std::to_string(min) + ", got '" + value + "'");
           target = v;
         },
         help)
      ->type_name("N");
}

// The command line, as CLI11 describes it (`--help` prints it).
void describe(CLI::App& app, Options& o, std::vector<std::string>& positional) {
  app.add_option("images", positional,
                 "[MODEL.safetensors] then JPEG, PNG or BMP images; \"-\" reads paths from standard input, one "
                 "per line")
      ->required()
      ->type_name("[MODEL] IMAGE...");
  app.add_option("--model", o.model,
                 "The hemo model file (default: a first argument ending in .safetensors, else the best shipped "
                 "model, weights/MODELS.md)")
      ->type_name("MODEL");
  add_int_option(app, "--top", o.top, 1, "Print the N most probable classes (default 3)");
  app.add_flag("--json", o.json, "Print a JSON array instead of a table");
  add_int_option(app, "--threads", o.threads, 1, "OpenMP threads (default: OMP_NUM_THREADS or every core)");
  hemo::cli::add_device_option(&app, o.device)
      ->description("auto (the GPU when this build has CUDA and one is visible), cpu, cuda");
  hemo::cli::add_precision_option(&app, o.precision);
  app.add_flag_callback(
      "--no-fold", [&o] { o.fold = false; }, "Keep the batch norms as separate layers (for checking the folded model)");
  app.add_flag("--channels-last", o.channels_last,
               "Store the activations channels-last (NHWC) instead of NCHW (the same classes up to rounding)");
  hemo::cli::add_tta_option(&app, o.tta);
  add_int_option(app, "--bench", o.bench, 1,
                 "First time the forward pass on the first image at batch 1: 5 warm-up runs, then N timed ones; "
                 "the median wall and CPU milliseconds go to stderr");
  app.allow_extras();  // an unknown option is reported below, by name
  app.set_version_flag("--version", std::string("hemo-infer 0.1 (") + (HEMO_WITH_CUDA ? "CUDA" : "CPU only") + ")");
}

// Image paths: the positional arguments after the model, "-" replaced by standard input's lines.
std::vector<std::string> image_paths(const std::vector<std::string>& positional) {
  std::vector<std::string> images;
  for (const std::string& p : positional) {
    if (p != "-") {
      images.push_back(p);
      continue;
    }
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) images.push_back(line);
    }
  }
  return images;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Batch-1 latency of the forward pass alone (no decoding, no softmax), as a framework benchmark
// times model(x).
void bench(hemo::infer::InferenceModel& m, const std::string& image, int runs) {
  const hemo::Tensor x = hemo::infer::image_input(m, image);
  hemo::NoGradGuard no_grad;
  constexpr int kWarmup = 5;
  std::vector<double> wall, cpu;
  for (int i = 0; i < kWarmup + runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    const hemo::Tensor y = (*m.module)(x);
    (void)y.to_vector<float>();  // waits for a GPU
    const double c1 = cpu_seconds();
    const auto t1 = std::chrono::steady_clock::now();
    if (i < kWarmup) continue;
    wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    cpu.push_back(1e3 * (c1 - c0));
  }
  std::cerr << "hemo-infer bench: " << m.meta.architecture << " " << m.meta.input_size << "x" << m.meta.input_size
            << " batch 1 on " << m.device.str() << ", " << omp_get_max_threads() << " threads, " << runs
            << " runs after " << kWarmup << " warm-up: median " << median(wall) << " ms wall, " << median(cpu)
            << " ms CPU, min " << *std::min_element(wall.begin(), wall.end()) << " ms wall\n";
}

int run(const Options& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const hemo::Device device = hemo::resolve(o.device);
  hemo::set_precision(o.precision);
  const std::string model = o.model.empty() ? hemo::cli::shipped_default("hemo-infer") : o.model;
  hemo::infer::InferenceModel m = hemo::infer::load_inference_model(model, device, o.fold);
  if (o.channels_last) m.format = hemo::MemoryFormat::channels_last;
  if (o.bench > 0 && !o.images.empty()) bench(m, o.images.front(), o.bench);
  const auto& names = m.meta.class_names;
  const size_t k = static_cast<size_t>(o.top);
  nlohmann::json all = nlohmann::json::array();
  int failed = 0;
  for (const std::string& path : o.images) {
    std::vector<float> prob;
    try {
      prob = hemo::infer::classify(m, path, hemo::data::parse_tta(o.tta));
    } catch (const std::exception& e) {
      ++failed;
      const std::string why = message_of(e);
      std::cerr << "hemo-infer: error: " << why << "\n";
      if (o.json) all.push_back({{"path", path}, {"error", why}});
      continue;
    }
    if (o.json) {
      all.push_back(hemo::cli::top_json(path, prob, names, k));
    } else {
      hemo::cli::print_top_table(std::cout, path, prob, names, k);
      std::cout.flush();
    }
  }
  if (o.json) std::cout << all.dump(2) << "\n";
  if (o.images.empty()) std::cerr << "hemo-infer: warning: no image paths were given on standard input\n";
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  hemo::cli::apply_process_env(argv);
  CLI::App app{"hemo-infer: classifies each IMAGE with the model file and prints its most probable classes"};
  Options o;
  std::vector<std::string> positional;
  describe(app, o, positional);
  try {
    app.parse(argc, argv);
    for (const std::string& extra : app.remaining())
      if (extra.size() > 1 && extra[0] == '-') throw UsageError("unknown option " + extra);
    if (!app.remaining().empty()) throw UsageError("unexpected argument " + app.remaining().front());
    if (o.model.empty() && positional.front().size() > 12 &&
        positional.front().compare(positional.front().size() - 12, 12, ".safetensors") == 0) {
      o.model = positional.front();
      positional.erase(positional.begin());
      if (positional.empty()) throw UsageError("no IMAGE after the model " + o.model);
    }
    o.images = image_paths(positional);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "hemo-infer: " << e.what() << "\n" << app.help();
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "hemo-infer: " << e.what() << "\n" << app.help();
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "hemo-infer: error: " << message_of(e) << "\n";
    return 1;
  }
}
