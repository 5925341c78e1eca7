// How subcommands reach `hemo`: each tools/cmd_*.cpp registers the function that adds its
// subcommand to the CLI11 app, at static-initialization time, with HEMO_COMMAND. hemo.cpp then
// adds every registered command, in `order`, under its parent ("" for top level, or a group
// such as "bench"). A new subcommand is a new file; nothing else is edited. Options that several
// commands share are here too.
#pragma once
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "core/options.h"
#include "weights/shipped.h"

namespace hemo::cli {

using AddCommand = void (*)(CLI::App& parent);

bool register_command(const char* parent, int order, AddCommand add);

// An option whose value is a typed option's name (core/options.h), parsed into `target` by its
// one parser: another name is a CLI11 error with that parser's message, which lists the valid
// names. Help shows them and the default.
template <NamedOption E>
CLI::Option* add_choice_option(CLI::App* cmd, const std::string& flag, E& target, const std::string& help) {
  std::string names;
  for (const std::string& n : option_names<E>()) names += (names.empty() ? "" : ",") + n;
  return cmd
      ->add_option_function<std::string>(
          flag,
          [&target](const std::string& name) {
            try {
              target = parse_option<E>(name);
            } catch (const Error& e) {
              throw CLI::ValidationError(e.what());
            }
          },
          help)
      ->type_name("{" + names + "}")
      ->default_str(std::string(option_name(target)));
}

// --device for the commands that run a model: cpu, cuda or auto; hemo::resolve (core/options.h)
// turns the choice into a Device.
inline CLI::Option* add_device_option(CLI::App* cmd, DeviceChoice& device) {
  return add_choice_option(cmd, "--device", device, "cpu, cuda or auto (the GPU when there is one)");
}
// --precision for the same commands: fp32, tf32 or bf16 (kernels/precision.h: set_precision).
inline CLI::Option* add_precision_option(CLI::App* cmd, Precision& precision) {
  return add_choice_option(cmd, "--precision", precision,
                           "Convolution and GEMM arithmetic: tf32 (CUDA tensor cores; the CPU computes fp32), "
                           "fp32 (strict), bf16 (bf16 products, float32 sums)");
}
// --tta for the commands that classify: none, flips or dihedral (data/tta.h, parse_tta).
inline CLI::Option* add_tta_option(CLI::App* cmd, std::string& tta) {
  return cmd
      ->add_option("--tta", tta,
                   "Test-time augmentation: average each image's class probabilities over its mirror images "
                   "(flips: 4 views) or its mirror images and quarter turns (dihedral: 8 views; 8x the time); "
                   "none: the image alone")
      ->check(CLI::IsMember({"none", "flips", "dihedral"}))
      ->capture_default_str();
}
// The model file a command uses when none is named: the best shipped model (weights/shipped.h),
// announced on stderr so that output piped elsewhere stays clean; an Error saying where it looked
// when there is none.
inline std::string shipped_default(const char* who) {
  const weights::ShippedModel m = weights::best_shipped_model();
  std::cerr << who << ": using the shipped model " << m.name << " (" << m.meta.architecture << ", test accuracy "
            << m.test_accuracy << " on " << m.test_images << " held-out PBC images): " << m.file.string() << "\n";
  return m.file.string();
}

// Adds the registered commands whose parent is `parent_name` to `parent`.
void add_commands(const char* parent_name, CLI::App& parent);

}  // namespace hemo::cli

#define HEMO_COMMAND_CAT2(a, b) a##b
#define HEMO_COMMAND_CAT(a, b) HEMO_COMMAND_CAT2(a, b)
#define HEMO_COMMAND(parent, order, fn) \
  static const bool HEMO_COMMAND_CAT(hemo_command_registered_, __LINE__) = ::hemo::cli::register_command(parent, order, fn)
