// The checkpoint and run-state reader (train/checkpoint.h): a whole file through load_checkpoint
// (models::read_model_file: safetensors, ModelMeta, model and optimizer tensors; then the
// "hemo.train_state" JSON), then that JSON through TrainState::from_json and its configuration
// through TrainConfig::from_json, as `hemo train --resume` reads them (tests/fuzz/readers.h).
#include "tests/fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hemo::fuzz::run(hemo::fuzz::read_checkpoint, data, size);
}
