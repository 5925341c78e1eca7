// hemo: the command-line tool. Each subcommand lives in its own tools/cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tensor/error.h"
#include "tensor/storage.h"

int main(int argc, char** argv) {
  CLI::App app{"hemo: train, evaluate, explain and deploy CNN classifiers of blood-cell images"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hemo 0.1");

  auto* demo = app.add_subcommand("demo", "Run the main job: train pbcnet7 on synthetic smears and report");
  demo->callback([] {
    std::cout << "hemo demo: the core engine is in place (tensor, autograd, CPU reference ops);\n"
                 "training, the model zoo and the synthetic data set arrive with later work.\n"
              << "CUDA: " << (HEMO_WITH_CUDA ? "compiled in" : "not compiled in") << ", "
              << hemo::cuda_device_count() << " device(s) visible\n";
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hemo::Error& e) {
    std::cerr << "hemo: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
