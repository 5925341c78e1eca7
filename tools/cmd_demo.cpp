// `hemo demo`: the README's main job. Placeholder until training lands: says what exists.
#include "tensor/storage.h"
#include "tools/command.h"

namespace {
void add_demo_command(CLI::App& app) {
  auto* demo = app.add_subcommand("demo", "Run the main job: train pbcnet7 on synthetic smears and report");
  demo->callback([] {
    std::cout << "hemo demo: the core engine is in place (tensor, autograd, CPU reference ops);\n"
                 "training, the model zoo and the synthetic data set arrive with later work.\n"
              << "CUDA: " << (HEMO_WITH_CUDA ? "compiled in" : "not compiled in") << ", "
              << hemo::cuda_device_count() << " device(s) visible\n";
  });
}
}  // namespace
HEMO_COMMAND("", 0, add_demo_command);
