// `hemo train` as a user runs it, for the run directory's rules and interrupts (train/run_dir.h,
// train/interrupt.h): SIGTERM and SIGINT mid-run save `last`, print how to resume and exit with
// 128 + signal within seconds; a second SIGINT exits at once; `--resume` with no other flag then
// continues with the run's own configuration, refuses a changed one, and a new run into a run's
// directory is refused unless --overwrite. Small synthetic data (tests/train/tiny_run.h).
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/epoch_log.h"

extern char** environ;

using namespace hemo;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {

std::string hemo_cmd(const std::string& args) { return shell_quote(HEMO_BIN) + " " + args; }

std::string train_args(const fs::path& run, int epochs) {
  return "--model pbcnet7 --data " + shell_quote(test::tiny_dataset().string()) + " --out " + shell_quote(run.string()) +
         " --input-size 65 --batch-size 8 --lr 0.002 --split 0.5 0.25 0.25 --threads 1 --seed 3 --epochs " +
         std::to_string(epochs);
}

// `hemo train ARGS` in the background, its output in files; signal() and wait() drive it.
struct Background {
  pid_t pid = -1;
  fs::path out, err;
  explicit Background(const fs::path& dir, const std::string& args) : out(dir / "stdout.txt"), err(dir / "stderr.txt") {
    const std::string cmd = "exec " + hemo_cmd(args) + " > " + shell_quote(out.string()) + " 2> " + shell_quote(err.string());
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  }
  // Waits up to `seconds` for the process to end; its exit status, or -1 if it had not ended
  // (then it is killed), or -2 if a signal ended it.
  int wait(double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
};

// Waits until the run has finished its first epoch (epochs.csv has a line).
bool wait_for_first_epoch(const fs::path& run, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    try {
      // The epoch's row and its checkpoint (written after the row, by an atomic rename).
      if (fs::exists(run / "epochs.csv") && !train::read_epoch_csv((run / "epochs.csv").string()).empty() &&
          fs::exists(run / "last.safetensors"))
        return true;
    } catch (const Error&) {  // read while the trainer was still writing it (CI saw the header half there)
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("hemo train: SIGTERM and SIGINT save last and exit 128+signal; --resume alone continues the run as configured") {
  const fs::path base = test::train_work_dir("interrupt_cli");
  for (const int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    const fs::path run = base / (sig == SIGTERM ? "term" : "int");
    fs::remove_all(run);
    fs::create_directories(run);
    Background bg(base, "train " + train_args(run, 400) + " --patience 0");
    REQUIRE(wait_for_first_epoch(run, 120));
    std::this_thread::sleep_for(std::chrono::milliseconds(sig == SIGTERM ? 0 : 150));  // at an epoch's end; within one
    const auto sent = std::chrono::steady_clock::now();
    kill(bg.pid, sig);
    const int status = bg.wait(20);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    const std::string err = test::read_file(bg.err);
    MESSAGE("signal ", sig, ": exit status ", status, " after ", took, " s; ", err.substr(err.rfind("hemo: ")));
    CHECK(status == 128 + sig);
    CHECK(took < 10);
    CHECK_MESSAGE(err.find("Continue it with: hemo train --out " + run.string() + " --resume") != std::string::npos, err);
    // last is whole and loadable, and holds the run up to where the signal stopped it.
    const train::Checkpoint last = train::load_checkpoint((run / "last.safetensors").string());
    const int64_t steps = last.train_state.at("step").get<int64_t>();
    CHECK(steps >= 3);  // at least the first epoch's 3 steps
    const size_t epochs_done = train::read_epoch_csv((run / "epochs.csv").string()).size();
    REQUIRE(epochs_done >= 1);

    // --resume with no other flag: the run's settings, not the defaults; two more epochs.
    const auto r = test::run_captured(hemo_cmd("train --out " + shell_quote(run.string()) + " --resume --epochs " +
                                               std::to_string(epochs_done + 2)));
    CHECK_MESSAGE(r.status == 0, r.err);
    CHECK_MESSAGE(r.out.find("input 65x65") != std::string::npos, r.out);
    const nlohmann::json config = read_json(run / "config.json");
    CHECK(config.at("lr") == 0.002);
    CHECK(config.at("batch_size") == 8);
    CHECK(config.at("input_size") == 65);
    CHECK(train::read_epoch_csv((run / "epochs.csv").string()).size() == epochs_done + 2);
    const train::Checkpoint resumed = train::load_checkpoint((run / "last.safetensors").string());
    CHECK(resumed.train_state.at("step").get<int64_t>() == 3 * static_cast<int64_t>(epochs_done + 2));
    CHECK(resumed.train_state.at("config").at("lr") == 0.002);
  }
}

TEST_CASE("hemo train: SIGINT twice in a row: exit status 130, the last checkpoint intact") {
  // (Whether the second signal found the first still being handled depends on timing: the exact
  // second-signal behaviour is tests/train/interrupt_test.cpp's.)
  const fs::path base = test::train_work_dir("interrupt_cli");
  const fs::path run = base / "twice";
  fs::remove_all(run);
  fs::create_directories(run);
  Background bg(base, "train " + train_args(run, 400));
  REQUIRE(wait_for_first_epoch(run, 120));
  kill(bg.pid, SIGINT);
  kill(bg.pid, SIGINT);
  const int status = bg.wait(10);
  CHECK(status == 130);
  CHECK_NOTHROW(train::load_checkpoint((run / "last.safetensors").string()));
}

TEST_CASE("hemo train: --resume refuses changed settings; a new run into a run's folder needs --overwrite") {
  const fs::path base = test::train_work_dir("interrupt_cli");
  const fs::path run = base / "rules";
  fs::remove_all(run);
  auto r = test::run_captured(hemo_cmd("train " + train_args(run, 1)));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::vector<fs::path> events;
  for (const auto& e : fs::directory_iterator(run))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events.push_back(e.path());
  REQUIRE(events.size() == 1);

  r = test::run_captured(hemo_cmd("train --out " + shell_quote(run.string()) + " --resume --epochs 2 --lr 0.1 --input-size 72"));
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find("--input-size 72 (the run has 65); --lr 0.1 (the run has 0.002)") != std::string::npos, r.err);

  r = test::run_captured(hemo_cmd("train " + train_args(run, 1)));  // the same command again
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find("already holds a training run") != std::string::npos, r.err);
  CHECK_MESSAGE(r.err.find("--resume") != std::string::npos, r.err);
  CHECK(fs::exists(events[0]));  // nothing touched

  // --overwrite with a setting the model refuses fails before deleting anything.
  r = test::run_captured(hemo_cmd("train " + train_args(run, 1) + " --overwrite --drop-path 0.1"));
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find("stochastic depth (--drop-path) is part of ConvNeXt and EfficientNet only") !=
                    std::string::npos,
                r.err);
  CHECK(fs::exists(events[0]));
  CHECK(fs::exists(run / "best.safetensors"));

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // event file names hold the second
  r = test::run_captured(hemo_cmd("train " + train_args(run, 1) + " --overwrite"));
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK_FALSE(fs::exists(events[0]));  // the old run's events are gone, the new run's are there
  int now = 0;
  for (const auto& e : fs::directory_iterator(run)) now += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  CHECK(now == 1);
}
