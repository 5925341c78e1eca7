// How subcommands reach `hemo`: each tools/cmd_*.cpp registers the function that adds its
// subcommand to the CLI11 app, at static-initialization time, with HEMO_COMMAND. hemo.cpp then
// adds every registered command, in `order`, under its parent ("" for top level, or a group
// such as "bench"). A new subcommand is a new file; nothing else is edited. Options that several
// commands share are here too.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

namespace hemo::cli {

using AddCommand = void (*)(CLI::App& parent);

bool register_command(const char* parent, int order, AddCommand add);

// --device for the commands that run a model: cpu, cuda or auto; hemo::resolve_device
// (tensor/storage.h) turns the value into a Device.
inline CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  return cmd->add_option("--device", device, "cpu, cuda or auto (the GPU when there is one)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
}
// Adds the registered commands whose parent is `parent_name` to `parent`.
void add_commands(const char* parent_name, CLI::App& parent);

}  // namespace hemo::cli

#define HEMO_COMMAND_CAT2(a, b) a##b
#define HEMO_COMMAND_CAT(a, b) HEMO_COMMAND_CAT2(a, b)
#define HEMO_COMMAND(parent, order, fn) \
  static const bool HEMO_COMMAND_CAT(hemo_command_registered_, __LINE__) = ::hemo::cli::register_command(parent, order, fn)
