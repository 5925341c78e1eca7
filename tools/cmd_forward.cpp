// `hemo forward`: runs a model with given weights on an input tensor and writes its logits: the
// tool for checking a conversion (tools/convert_torchvision.py) against PyTorch.
//   hemo forward --model NAME --weights W.safetensors --input IN.safetensors --output OUT.safetensors [--train]
// IN holds the float32 NCHW tensor `input`; OUT receives the float32 tensor `logits`. Eval mode by
// default (batch norm uses its running statistics, dropout is off); with --train, batch norm
// normalizes with the batch's statistics (dropout stays off, so the output is deterministic).
// The class count (and pbcnet7's input size and pool stride) come from W's metadata when it has
// hemo's (weights/model_meta.h), else from the shape of the classifier's weight.
#include "tools/command.h"

#include <iostream>
#include <memory>
#include <string>

#include "models/registry.h"
#include "nn/state_dict.h"
#include "tensor/autograd.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

namespace {

struct ForwardOptions {
  std::string model, weights, input, output;
  bool train = false;
};

void run_forward(const ForwardOptions& o) {
  using namespace hemo;
  const models::ModelSpec& spec = models::model_spec(o.model);
  weights::TensorFile w = weights::load_tensors(o.weights);
  weights::TensorFile in = weights::load_tensors(o.input);
  const Tensor* x = in.find("input");
  HEMO_CHECK(x != nullptr, o.input, ": has no tensor named 'input'");
  HEMO_CHECK(x->dim() == 4 && x->size(1) == 3, o.input, ": 'input' must be [N, 3, H, W], got ", shape_str(x->shape()));

  models::ModelOptions opt;
  opt.dropout = 0;
  opt.init_weights = false;  // every tensor is loaded next (strictly)
  int64_t num_classes = 0;
  if (w.metadata.count("architecture")) {
    const auto meta = weights::ModelMeta::from_metadata(w.metadata, o.weights);
    HEMO_CHECK(meta.architecture == o.model, o.weights, ": holds ", meta.architecture, " weights, not ", o.model);
    num_classes = meta.num_classes;
    opt.input_size = meta.input_size;
  } else {
    const Tensor* head = w.find(spec.head + ".weight");
    HEMO_CHECK(head != nullptr, o.weights, ": has no '", spec.head, ".weight' (not ", o.model, " weights?)");
    num_classes = head->size(0);
  }
  if (spec.family == "pbcnet7") {
    HEMO_CHECK(x->size(2) == x->size(3), o.input, ": pbcnet7 takes square inputs, got ", shape_str(x->shape()));
    if (opt.input_size == 0) opt.input_size = x->size(2);
    if (w.metadata.count("pool_stride")) opt.pool_stride = std::stoll(w.metadata.at("pool_stride"));
  }
  Generator gen(0);
  nn::ModulePtr model = models::create_model(o.model, num_classes, opt, gen);
  try {
    nn::load_state_dict(*model, w.tensors);
  } catch (const Error& e) {
    throw Error(cat(o.weights, ": ", e.what()));
  }
  w.tensors.clear();
  model->train(o.train);
  Tensor logits;
  {
    NoGradGuard no_grad;
    logits = (*model)(*x);
  }
  weights::save_tensors(o.output, {{"logits", logits}},
                        {{"architecture", o.model}, {"mode", o.train ? "train" : "eval"}, {"weights", o.weights}});
  std::cout << "hemo forward: " << o.model << " (" << (o.train ? "train" : "eval") << " mode) "
            << shape_str(x->shape()) << " -> logits " << shape_str(logits.shape()) << " written to " << o.output
            << "\n";
}

void add_forward_command(CLI::App& app) {
  auto o = std::make_shared<ForwardOptions>();
  CLI::App* cmd = app.add_subcommand("forward", "Run a model on an input tensor and write its logits");
  cmd->add_option("--model", o->model, "Model name (see hemo info)")->required();
  cmd->add_option("--weights", o->weights, "Weights (.safetensors, e.g. from tools/convert_torchvision.py)")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", o->input, "safetensors file holding the float32 NCHW tensor 'input'")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--output", o->output, "safetensors file to write the tensor 'logits' to")->required();
  cmd->add_flag("--train", o->train, "Batch norm uses batch statistics (training mode; dropout stays off)");
  cmd->callback([o] { run_forward(*o); });
}

}  // namespace
HEMO_COMMAND("", 61, add_forward_command);
