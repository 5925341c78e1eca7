// Image decoding (data/decode.h): the header sniffing, then JPEG (libjpeg-turbo), PNG and BMP
// (stb_image and hemo's own header checks), from bytes in memory, with a pixel limit small enough
// that a huge declared size must be refused before anything is allocated for it.
// The reader is tests/fuzz/readers.cpp.
#include "tests/fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hemo::fuzz::run(hemo::fuzz::read_image, data, size);
}
