// Checkpoints: a round trip of model, optimizer state, metadata and training state; clear
// errors; and crash safety: a child process writing checkpoints in a loop is killed with SIGKILL
// at random moments (20 trials), after which the file at the checkpoint path must load and be one
// complete checkpoint, never older than the last one the parent saw.
#include "train/checkpoint.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tensor/rng.h"
#include "tests/train/train_test_util.h"

using namespace hemo;
using namespace hemo::train;
namespace fs = std::filesystem;

namespace {

ModelMeta test_meta() {
  ModelMeta m;
  m.architecture = "parambag";
  m.num_classes = 3;
  m.class_names = {"lymphocyte", "monocyte", "neutrophil"};
  m.input_size = 32;
  m.mean = {0.5, 0.25, 0.125};
  m.std = {0.2, 0.3, 0.4};
  return m;
}

void fill(test::ParamBag& bag, float v) {
  for (Tensor& t : bag.tensors()) {
    float* d = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = v;
  }
  bag.counter().data<float>()[0] = v;
}

// The version a checkpoint holds, after checking that every tensor agrees with it (a torn file
// would mix versions or fail to parse).
int64_t checked_version(const Checkpoint& c) {
  const int64_t v = c.train_state.at("version").get<int64_t>();
  for (const auto& [name, t] : c.model) {
    const auto values = t.to_vector<float>();
    const auto bad = std::find_if(values.begin(), values.end(), [&](float x) { return x != static_cast<float>(v); });
    REQUIRE_MESSAGE(bad == values.end(), name, " holds ", *bad, " in version ", v);
  }
  return v;
}

}  // namespace

TEST_CASE("checkpoint: model, optimizer state, metadata and training state round trip") {
  const fs::path dir = test::train_work_dir("checkpoint_roundtrip");
  test::ParamBag bag({{4, 3}, {5}});
  Generator g(3);
  for (Tensor& t : bag.tensors()) {
    float* d = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<float>(g.uniform(-1, 1));
  }
  Adam adam(bag.parameters(), AdamOptions{});
  for (Tensor& t : bag.tensors()) t.set_grad(Tensor::full(t.shape(), 0.25));
  adam.step();
  const nlohmann::json state = {{"epoch", 4}, {"history", {{{"train_loss", 0.5}}}}, {"manifest_hash", "abc"}};
  const std::string path = (dir / "ckpt.safetensors").string();
  save_checkpoint(path, bag, test_meta(), &adam, state);

  const Checkpoint c = load_checkpoint(path);
  CHECK(c.meta.architecture == "parambag");
  CHECK(c.meta.class_names == test_meta().class_names);
  CHECK(c.meta.input_size == 32);
  CHECK(c.meta.std[2] == doctest::Approx(0.4));
  CHECK(c.train_state == state);
  const auto sd = bag.state_dict();
  REQUIRE(c.model.size() == sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(c.model[i].first == sd[i].first);
    CHECK(c.model[i].second.to_vector<float>() == sd[i].second.to_vector<float>());
  }
  const auto opt_state = adam.state();
  CHECK(c.optimizer.size() == opt_state.size());
  Adam restored(bag.parameters(), AdamOptions{});
  restored.load_state(c.optimizer);
  CHECK(restored.steps() == 1);

  CHECK_NOTHROW(check_matches(c, "parambag", 3));
  CHECK_THROWS_WITH_AS(check_matches(c, "pbcnet7", 3), doctest::Contains("holds a parambag but a pbcnet7"), Error);
  CHECK_THROWS_WITH_AS(check_matches(c, "parambag", 8), doctest::Contains("trained for 3 classes"), Error);

  // A weights-only file (no optimizer, no training state).
  save_checkpoint((dir / "weights.safetensors").string(), bag, test_meta());
  const Checkpoint w = load_checkpoint((dir / "weights.safetensors").string());
  CHECK(w.train_state.is_null());
  CHECK(w.optimizer.empty());
}

TEST_CASE("checkpoint: missing, truncated and foreign files are clear errors") {
  const fs::path dir = test::train_work_dir("checkpoint_errors");
  CHECK_THROWS_WITH_AS(load_checkpoint((dir / "absent.safetensors").string()), doctest::Contains("does not exist"),
                       Error);
  test::ParamBag bag(std::vector<Shape>{Shape{64}});
  const std::string path = (dir / "full.safetensors").string();
  save_checkpoint(path, bag, test_meta());
  const std::string bytes = test::read_file(path);
  {
    std::ofstream out(dir / "cut.safetensors", std::ios::binary);
    out << bytes.substr(0, bytes.size() - 10);
  }
  CHECK_THROWS((void)load_checkpoint((dir / "cut.safetensors").string()));
  CHECK(manifest_hash("a,b\n") != manifest_hash("a,c\n"));
  CHECK(manifest_hash("") == "cbf29ce484222325");  // FNV-1a offset basis
}

TEST_CASE("checkpoint: SIGKILL at random moments while writing leaves a loadable checkpoint (20 trials)") {
  const fs::path dir = test::train_work_dir("checkpoint_crash");
  for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());
  const std::string path = (dir / "last.safetensors").string();
  // 2M floats: each save writes 8 MB and fsyncs, so a kill lands inside a write most of the time.
  test::ParamBag bag({{1024, 1024}, {1024, 1024}});
  fill(bag, 0);
  save_checkpoint(path, bag, test_meta(), nullptr, {{"version", 0}});

  Generator g(2024);
  int64_t last_seen = 0;
  int torn_writes = 0, advanced = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t base = (trial + 1) * 100000;
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: write versions base, base+1, ... until killed
      for (int64_t v = base; v < base + 100000; ++v) {
        fill(bag, static_cast<float>(v));
        save_checkpoint(path, bag, test_meta(), nullptr, {{"version", v}});
      }
      _exit(0);
    }
    const int delay_ms = 5 + static_cast<int>(g.below(200));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    REQUIRE(kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));

    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) {
        ++torn_writes;  // the child died inside save(): its temporary file stays behind
        fs::remove(e.path());
      }
    const Checkpoint c = load_checkpoint(path);
    const int64_t v = checked_version(c);
    CAPTURE(trial);
    CHECK(v >= last_seen);  // never rolled back
    CHECK((v == last_seen || (v >= base && v < base + 100000)));
    if (v != last_seen) ++advanced;
    last_seen = v;
  }
  MESSAGE("crash test: 20 kills, ", torn_writes, " inside a write (temporary file left), ", advanced,
          " trials advanced the checkpoint; every survivor loaded complete");
  CHECK(torn_writes >= 1);  // the kills did land inside writes
  CHECK(advanced >= 1);
}
