// `hemo export`: a hemo model file in the formats other runtimes read.
//   hemo export --onnx OUT.onnx --checkpoint M.safetensors [--opset 17] [--dynamic-batch] [--keep-batchnorm]
// The model file is loaded as hemo-infer loads it (api/inference_model.h: batch norms folded
// into the convolutions unless --keep-batchnorm), then written as ONNX (onnx/export.h), its
// metadata and preprocessing in the ONNX file's metadata_props.
#include "tools/command.h"

#include <iostream>
#include <memory>
#include <string>

#include "api/inference_model.h"
#include "hemo/version.h"
#include "onnx/export.h"

namespace {

struct ExportOptions {
  std::string onnx, checkpoint;
  int64_t opset = 17;
  bool dynamic_batch = false, keep_batchnorm = false;
};

void run_export(const ExportOptions& o) {
  using namespace hemo;
  infer::InferenceModel m = infer::load_inference_model(o.checkpoint, Device::cpu(), !o.keep_batchnorm);
  onnx_export::ExportOptions opt;
  opt.opset = o.opset;
  opt.dynamic_batch = o.dynamic_batch;
  opt.producer_version = cat(hemo::version(), " (commit ", hemo::commit(), ")");
  opt.source = o.checkpoint;
  const onnx_export::ExportReport r = onnx_export::export_onnx(*m.module, m.meta, opt, o.onnx);
  std::cout << "hemo export: " << m.meta.architecture << " (" << m.meta.num_classes << " classes, input "
            << m.meta.input_size << "x" << m.meta.input_size << ", batch " << (o.dynamic_batch ? "dynamic" : "1")
            << ", batch norms " << (o.keep_batchnorm ? "kept" : "folded") << ") -> " << o.onnx << ": opset " << o.opset
            << ", " << r.nodes << " nodes, " << r.initializer_bytes / 1000000.0 << " MB of weights\n";
}

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Export a model file to ONNX (for ONNX Runtime, TensorRT, OpenVINO)");
  cmd->add_option("--onnx", o->onnx, "ONNX file to write")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "hemo model file (.safetensors: a checkpoint or converted weights)")
      ->required();
  cmd->add_option("--opset", o->opset, "ONNX opset version")
      ->check(CLI::Range(hemo::onnx_export::kMinOpset, hemo::onnx_export::kMaxOpset))
      ->capture_default_str();
  cmd->add_flag("--dynamic-batch", o->dynamic_batch, "Symbolic batch dimension (default: batch 1)");
  cmd->add_flag("--keep-batchnorm", o->keep_batchnorm,
                "Keep batch norms as BatchNormalization nodes (default: folded into the convolutions)");
  cmd->callback([o] { run_export(*o); });
}

}  // namespace
HEMO_COMMAND("", 62, add_export_command);
