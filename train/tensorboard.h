// TensorBoard event files without TensorFlow or protobuf: scalars written as hand-encoded
// Event protos in TFRecord framing, readable by TensorBoard's own loader.
//
// File: <dir>/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> (TensorBoard picks up
// any file whose name contains "tfevents"; pid and a per-process counter keep two writers in the
// same second apart, as TensorFlow's own writer does).
//
// TFRecord framing of each record:
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
//   masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8, c = CRC-32C (Castagnoli) of x
//
// Messages (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
//   Event   { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3;
//             Summary summary = 5; } }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; oneof value { float simple_value = 2; } }
// The first record is an Event with file_version "brain.Event:2".
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/output_file.h"

namespace hemo::train {

uint32_t crc32c(const void* data, size_t n);         // CRC-32C, e.g. crc32c("123456789") = 0xe3069283
uint32_t masked_crc32c(const void* data, size_t n);  // TFRecord's masked form

class EventWriter {
 public:
  // Creates `dir` (and parents) and a new event file in it; throws hemo::Error if it cannot.
  // Each record goes straight to the file: a failed write (a full disk) throws hemo::Error naming
  // the event file and the reason.
  explicit EventWriter(const std::string& dir);
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // value is stored as float32 (simple_value), stamped with the current wall time.
  void add_scalar(const std::string& tag, double value, int64_t step);
  void flush();  // nothing is buffered; kept for callers that mark where a batch of scalars ends
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::string path_;
  std::unique_ptr<OutputFile> out_;
};

}  // namespace hemo::train
