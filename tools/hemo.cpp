// hemo: the command-line tool. Each subcommand lives in its own tools/cmd_*.cpp and registers
// itself (tools/command.h); this file only builds the app, runs it and reports errors.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "core/error.h"
#include "core/host_memory.h"
#include "hemo/version.h"
#include "tools/command.h"
#include "tools/process_env.h"
#include "train/interrupt.h"

int main(int argc, char** argv) {
  hemo::cli::apply_process_env(argv);
  CLI::App app{"hemo: train, evaluate, explain and deploy CNN classifiers of blood-cell images"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hemo ") + hemo::version() + " (commit " + hemo::commit() + ")");
  hemo::cli::add_commands("", app);
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks: training and inference speed (train, infer), ops (op), the input pipeline (data)");
  bench->require_subcommand(1);
  hemo::cli::add_commands("bench", *bench);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (and the help where it does); a usage error exits 2, as hemo-infer
    // and POSIX tools do, whatever CLI11's own code for its kind.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const hemo::train::Interrupted& e) {  // SIGINT or SIGTERM: saved, and how to go on
    std::cerr << "hemo: " << e.what() << "\n";
    return e.exit_status();
  } catch (const hemo::Error& e) {
    std::cerr << "hemo: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {  // a container's allocation, outside the counted tensors
    std::cerr << "hemo: error: " << hemo::out_of_host_memory_message(0) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hemo: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
