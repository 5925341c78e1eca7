// The four readers hemo's fuzzing drives (tests/fuzz/README.md), each taking the raw bytes of one
// input. A reader may return or throw hemo::Error (the input refused with a message); anything
// else is a finding: another exception type, a sanitizer report, an allocation past the limit,
// a hang, or a violated property (require(), which aborts). The libFuzzer targets
// (targets/fuzz_*.cpp) call them, and so does the robustness suite (regressions_test.cpp) on the
// seed corpus, mutations of it and every saved finding, in the ordinary build.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

namespace hemo::fuzz {

using Bytes = std::span<const uint8_t>;

void read_image(Bytes bytes);        // data/decode.h: sniff, probe, decode (4 Mpx limit)
void read_safetensors(Bytes bytes);  // weights/safetensors.h, every tensor as float, a ModelMeta
void read_checkpoint(Bytes bytes);   // train/checkpoint.h load_checkpoint, TrainState, TrainConfig
void read_manifest(Bytes bytes);     // data/manifest.h, written back and read again

// The reader of a target name ("image", ...); null for an unknown name.
using Reader = void (*)(Bytes);
Reader reader(const std::string& target);

// A property of an accepted input that must hold: prints `what` and aborts when it does not.
void require(bool ok, const char* what);

// Runs `read` on the input, swallowing the hemo::Error that refuses it; libFuzzer's entry point.
inline int run(Reader read, const uint8_t* data, size_t size) {
  try {
    read(Bytes(data, size));
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hemo::fuzz
