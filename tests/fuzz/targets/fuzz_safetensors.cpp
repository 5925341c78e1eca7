// The safetensors reader (weights/safetensors.h): header length, JSON header, metadata, dtypes,
// shapes and offsets; every tensor read back as float (the conversion hemo's loaders use) and the
// metadata read as a hemo model file's (weights/model_meta.h).
// The reader is tests/fuzz/readers.cpp.
#include "tests/fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hemo::fuzz::run(hemo::fuzz::read_safetensors, data, size);
}
