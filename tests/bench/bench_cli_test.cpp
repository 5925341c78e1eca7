// `hemo bench train|infer|op` and `hemo profile` from the outside, on tiny cases: every figure is
// a finite positive number (NaN is written as null in JSON, which fails the check), every result
// names its commit, machine, threads, device and precision, the profile's rows add up to the step
// it measured (within 10%), the Chrome trace parses and has events, and the side-by-side script's
// --quick mode runs. No timing threshold is asserted.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/train/train_test_util.h"

using namespace hemo;
using hemo::test::run_captured;
using hemo::test::shell_quote;
namespace fs = std::filesystem;

namespace {

const std::string kHemo = shell_quote(HEMO_BIN);
const std::string kTiny = " --model pbcnet7 --input-size 32 --batch-size 2 --threads 2 --warmup 1 --steps 2 --json";

nlohmann::json run_json(const std::string& args) {
  const test::CommandRun r = run_captured(kHemo + " " + args);
  INFO("hemo " << args << "\nstderr: " << r.err << "\nstdout: " << r.out);
  REQUIRE(r.status == 0);
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(r.out));
  return j;
}

void require_positive(const nlohmann::json& j, const std::string& what) {
  INFO(what << " = " << j.dump());
  REQUIRE(j.is_number());
  const double v = j.get<double>();
  CHECK(std::isfinite(v));
  CHECK(v > 0);
}

void require_stats(const nlohmann::json& s, const std::string& what) {
  for (const char* k : {"median_ms", "min_ms", "max_ms", "p99_ms"}) require_positive(s.at(k), what + "." + k);
  CHECK(s.at("min_ms").get<double>() <= s.at("median_ms").get<double>());
  CHECK(s.at("median_ms").get<double>() <= s.at("max_ms").get<double>());
}

// `precision`: the commands' default, tf32, unless the command was given another (bench op times
// its kernels in float32 and says so).
void require_env(const nlohmann::json& r, const std::string& device, const std::string& precision = "tf32") {
  const nlohmann::json& e = r.at("env");
  for (const char* k : {"commit", "machine", "date", "precision"}) CHECK_FALSE(e.at(k).get<std::string>().empty());
  CHECK(e.at("threads").get<int>() == 2);
  CHECK(e.at("device").get<std::string>() == device);
  CHECK(e.at("precision").get<std::string>() == precision);
}

}  // namespace

TEST_CASE("hemo bench train --json: finite positive figures and the environment") {
  const nlohmann::json r = run_json("bench train" + kTiny);
  require_env(r, "cpu");
  require_stats(r.at("step"), "step");
  require_positive(r.at("images_per_s"), "images_per_s");
  require_positive(r.at("memory").at("host_peak_rss_bytes"), "host_peak_rss_bytes");
  CHECK(std::isfinite(r.at("last_loss").get<double>()));
  CHECK(r.at("summed_convolutions_per_step").get<int>() == 0);  // the CPU's batch norms sum for themselves
#if HEMO_WITH_CUDA
  // On the device (emulated in an EMULATE build): the caching allocator's figures as well.
  const nlohmann::json d = run_json("bench train" + kTiny + " --device cuda");
  require_env(d, "cuda:0");
  require_positive(d.at("images_per_s"), "cuda images_per_s");
  for (const char* k : {"device_peak_in_use_bytes", "device_peak_reserved_bytes", "device_reserved_bytes"})
    require_positive(d.at("memory").at(k), k);
  // ResNet-18 with bf16 products: each of its 20 convolutions sums its output for the batch norm
  // after it, in cuDNN's graph (nn/fusion.h), and the JSON says how many and what cuDNN planned.
  const nlohmann::json s = run_json(
      "bench train --model resnet18 --input-size 32 --batch-size 2 --threads 2 --warmup 1 --steps 1 --json "
      "--device cuda --precision bf16");
  CHECK(s.at("summed_convolutions_per_step").get<int>() == 20);
  CHECK(s.at("cudnn_fusion").at("planned").get<int>() > 0);
#endif
}

// --cuda-graphs (train/captured_step.h): two eager warm-up steps, a captured one, then replays; the
// steps compute what eager steps compute, so the loss after the same 6 steps is the same, bit for
// bit, and the case says which path ran. On the CPU it is refused by name.
TEST_CASE("hemo bench train --cuda-graphs: replays the eager step's numbers; CUDA only") {
#if HEMO_WITH_CUDA
  const std::string args =
      " --model pbcnet7 --input-size 32 --batch-size 2 --threads 2 --warmup 4 --steps 2 --json --device cuda";
  const nlohmann::json eager = run_json("bench train" + args);
  const nlohmann::json graphs = run_json("bench train" + args + " --cuda-graphs");
  CHECK(graphs.at("case").at("cuda_graphs") == true);
  CHECK(eager.at("case").at("cuda_graphs") == false);
  MESSAGE("last loss: eager ", eager.at("last_loss").get<double>(), ", --cuda-graphs ",
          graphs.at("last_loss").get<double>());
  CHECK(graphs.at("last_loss").get<double>() == eager.at("last_loss").get<double>());
#endif
  const test::CommandRun cpu = run_captured(kHemo + " bench train" + kTiny + " --cuda-graphs");
  CHECK(cpu.status != 0);
  CHECK(cpu.err.find("--cuda-graphs needs a CUDA device") != std::string::npos);
}

TEST_CASE("hemo bench infer --json: both code paths, batch 1 and batch N") {
  const nlohmann::json r = run_json("bench infer" + kTiny);
  require_env(r, "cpu");
  for (const char* path : {"hemo", "hemo-infer"}) {
    const nlohmann::json& p = r.at("paths").at(path);
    require_stats(p.at("batch1_latency"), std::string(path) + ".batch1");
    CHECK(p.at("batch1_latency").at("n").get<int>() == 8);
    require_stats(p.at("batchN"), std::string(path) + ".batchN");
    require_positive(p.at("batchN_images_per_s"), std::string(path) + ".images_per_s");
  }
  CHECK(r.at("paths").at("hemo-infer").at("batchnorms_folded").get<int>() == 0);  // pbcnet7 has none
}

TEST_CASE("hemo bench op --json: time, GB/s, GFLOP/s and % of the measured peak") {
  const nlohmann::json r = run_json("bench op conv2d.3x3 --shape '2x8x12x12;8x8x3x3;8' --threads 2 --steps 2 --json");
  require_env(r, "cpu", "fp32");
  require_positive(r.at("peak").at("gb_per_s"), "peak bandwidth");
  require_positive(r.at("peak").at("gflop_per_s"), "peak compute");
  REQUIRE(r.at("ops").size() == 1);
  for (const char* pass : {"forward", "backward"}) {
    const nlohmann::json& p = r.at("ops").at(0).at(pass);
    require_stats(p, pass);
    for (const char* k : {"gb_per_s", "gflop_per_s", "pct_peak_bw", "pct_peak_flops"}) require_positive(p.at(k), k);
  }
  CHECK(r.at("ops").at(0).at("shape") == "2x8x12x12;8x8x3x3;8");
  // Every op of kernels/ is reachable through the registry: one case of each, at small shapes.
  for (const char* op : {"depthwise_conv2d.3x3.stride1 --shape '2x8x10x10;8x1x3x3;8'",
                         "batchnorm.train --shape '2x4x6x6;4;4;4;4'", "linear --shape '4x8;3x8;3'",
                         "activation.relu6 --shape 2x3x4x5", "softmax_xent.mean --shape '4x5;4'"}) {
    const nlohmann::json o = run_json(std::string("bench op ") + op + " --threads 2 --steps 1 --json");
    REQUIRE(o.at("ops").size() == 1);
    require_positive(o.at("ops").at(0).at("forward").at("gflop_per_s"), op);
    require_positive(o.at("ops").at(0).at("backward").at("gb_per_s"), op);
  }
  // A forward-only op (no backward: Grad-CAM's steps, the fused convolution) has a null backward.
  const nlohmann::json fused = run_json(
      "bench op conv_epilogue.3x3.bn_relu6 --shape '2x4x8x8;6x4x3x3;6;6;6;6' --threads 2 --steps 1 --json");
  require_positive(fused.at("ops").at(0).at("forward").at("gb_per_s"), "conv_epilogue.3x3.bn_relu6");
  CHECK(fused.at("ops").at(0).at("backward").is_null());
  // --no-fusion: every fused or specialized path off (nn/fusion.h), said in each row.
  CHECK(r.at("ops").at(0).at("fusion") == true);
  const nlohmann::json unfused = run_json(
      "bench op depthwise_conv2d.3x3.stride1 --shape '2x8x10x10;8x1x3x3;8' --threads 2 --steps 1 --json --no-fusion");
  CHECK(unfused.at("ops").at(0).at("fusion") == false);
  // An op's name alone runs each of its cases.
  const nlohmann::json pools = run_json("bench op pooling.max.k3s2p1 --threads 2 --steps 1 --json");
  CHECK(pools.at("ops").size() == 1);
}

TEST_CASE("hemo bench: errors name what is wrong") {
  test::CommandRun r = run_captured(kHemo + " bench op softmaxx --threads 2");
  CHECK(r.status != 0);
  CHECK(r.err.find("unknown op 'softmaxx'") != std::string::npos);
  CHECK(r.err.find("conv2d") != std::string::npos);
  r = run_captured(kHemo + " bench op linear --shape '4x?;3x8;3'");
  CHECK(r.status != 0);
  CHECK(r.err.find("want one shape per input, x;w;b") != std::string::npos);
  r = run_captured(kHemo + " bench op conv2d --shape 2x2x2x2");
  CHECK(r.status != 0);
  CHECK(r.err.find("--shape needs a single case") != std::string::npos);
}

TEST_CASE("hemo bench train --precision bf16 runs on the CPU, and on CUDA where built, and says so") {
  nlohmann::json r = run_json("bench train --precision bf16" + kTiny);
  require_env(r, "cpu", "bf16");
  require_positive(r.at("images_per_s"), "images_per_s");
  CHECK(std::isfinite(r.at("last_loss").get<double>()));
#if HEMO_WITH_CUDA
  r = run_json("bench train --precision bf16 --device cuda --channels-last" + kTiny);
  require_env(r, "cuda:0", "bf16");
  CHECK(std::isfinite(r.at("last_loss").get<double>()));
#endif
}

namespace {

// The profile's rows against its measured step, and its trace.
void check_profile(const std::string& mode, const std::string& device) {
  const fs::path trace = test::train_work_dir("bench") / ("trace-" + mode + "-" + device + ".json");
  fs::remove(trace);
  const nlohmann::json r = run_json("profile" + kTiny + " --mode " + mode + " --device " + device + " --trace " +
                                    shell_quote(trace.string()));
  require_env(r, device == "cpu" ? "cpu" : "cuda:0");
  const double step = r.at("step_ms").get<double>(), sum = r.at("rows_sum_ms").get<double>();
  require_positive(r.at("step_ms"), "step_ms");
  double rows = 0;
  bool conv = false;
  for (const nlohmann::json& row : r.at("rows")) {
    rows += row.at("fwd_ms").get<double>() + row.at("bwd_ms").get<double>();
    conv = conv || (row.at("op") == "Conv2d" && row.at("fwd_ms").get<double>() > 0 &&
                    (mode != "train" || row.at("bwd_ms").get<double>() > 0));
  }
  CHECK(conv);
  CHECK(std::abs(rows - sum) <= 1e-6 * sum + 1e-9);
  INFO("rows sum " << sum << " ms, measured step " << step << " ms");
  CHECK(std::abs(sum - step) <= 0.10 * step);
  nlohmann::json t;
  REQUIRE_NOTHROW(t = nlohmann::json::parse(test::read_file(trace)));
  REQUIRE(t.at("traceEvents").is_array());
  CHECK(t.at("traceEvents").size() > 10);
  for (const nlohmann::json& e : t.at("traceEvents")) {
    CHECK(e.at("ph") == "X");
    CHECK(e.at("dur").get<double>() >= 0);
    CHECK(e.at("ts").get<double>() >= 0);
  }
}

}  // namespace

TEST_CASE("hemo profile: rows add up to the step; the trace parses") {
  check_profile("train", "cpu");
  check_profile("infer", "cpu");
  check_profile("folded", "cpu");
#if HEMO_WITH_CUDA
  check_profile("train", "cuda");  // CUDA events (emulated in an EMULATE build)
#endif
}

TEST_CASE("tools/bench/side_by_side.py --quick runs and reports every figure") {
  const fs::path dir = test::train_work_dir("bench");
  const fs::path json = dir / "side_by_side.json", doc = dir / "perf.md";
  fs::remove(json);
  fs::remove(doc);
  const std::string cmd = shell_quote(HEMO_PYTHON) + " " +
                          shell_quote(std::string(HEMO_SOURCE_DIR) + "/tools/bench/side_by_side.py") +
                          " --quick --hemo " + kHemo + " --json " + shell_quote(json.string()) + " --doc " +
                          shell_quote(doc.string());
  const test::CommandRun r = run_captured(cmd);
  INFO(cmd << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(test::read_file(json)));
  REQUIRE(j.at("train").size() >= 1);
  REQUIRE(j.at("infer").size() >= 1);
  for (const nlohmann::json& c : j.at("train")) {
    require_positive(c.at("hemo_images_per_s"), "train hemo");
    require_positive(c.at("torch_images_per_s"), "train torch");
    require_positive(c.at("ratio"), "train ratio");
  }
  for (const nlohmann::json& c : j.at("infer"))
    for (const char* k : {"hemo_b1_ms", "hemo_infer_b1_ms", "torch_b1_ms", "hemo_infer_bN_img_s", "torch_bN_img_s"})
      require_positive(c.at(k), k);
  const std::string md = test::read_file(doc);
  CHECK(md.find("side_by_side.py") != std::string::npos);
  CHECK(md.find(j.at("env").at("commit").get<std::string>()) != std::string::npos);
}
