// `hemo synth`: writes the synthetic blood-smear dataset (data/synth.h) as an ImageFolder.
//   hemo synth --out DIR --per-class N --size S --seed K [--format png|jpg] [--threads T]
#include "tools/command.h"

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "data/synth.h"

namespace {
void add_synth_command(CLI::App& app) {
  struct Options {
    std::string out;
    int per_class = 100;
    int size = 128;
    uint64_t seed = 0;
    std::string format = "png";
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Draw synthetic single-cell smear images in PBC's 8 classes, as an ImageFolder");
  cmd->add_option("--out", o->out, "Output folder (must not exist, or be empty)")->required();
  cmd->add_option("--per-class", o->per_class, "Images per class")->check(CLI::Range(1, 10000000))->capture_default_str();
  cmd->add_option("--size", o->size, "Image side in pixels")->check(CLI::Range(32, 4096))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed: the same seed draws the same images")->capture_default_str();
  cmd->add_option("--format", o->format, "File format")->check(CLI::IsMember({"png", "jpg"}))->capture_default_str();
  cmd->add_option("--threads", o->threads, "Drawing threads (0: all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->callback([o] {
    const auto start = std::chrono::steady_clock::now();
    const int64_t n = hemo::data::synth::generate(o->out, o->per_class, o->size, o->seed, o->format, o->threads);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "hemo synth: wrote " << n << " " << o->size << "x" << o->size << " " << o->format
              << " images (" << o->per_class << " per class, " << hemo::data::synth::kNumClasses
              << " classes, seed " << o->seed << ") to " << o->out << " in " << secs << " s\n";
  });
}
}  // namespace
HEMO_COMMAND("", 50, add_synth_command);
