// The split manifest reader (data/manifest.h): CSV with RFC 4180 quoting, the header, the split
// names, paths (no escaping the dataset root), duplicates; then the parsed manifest written back
// and read again, which must give the same entries.
// The reader is tests/fuzz/readers.cpp.
#include "tests/fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hemo::fuzz::run(hemo::fuzz::read_manifest, data, size);
}
