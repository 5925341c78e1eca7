#include "train/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace hemo::train {

namespace {

// Reflected CRC-32C polynomial (Castagnoli).
constexpr uint32_t kPoly = 0x82f63b78u;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

// Protobuf wire format: a key is (field_number << 3) | wire_type.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

static_assert(std::endian::native == std::endian::little, "EventWriter writes fixed-width fields by memcpy");

template <class T>
void put_le(std::string& out, T v) {  // fixed-width little-endian
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, uint32_t field, const std::string& s) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, s.size());
  out += s;
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event_header(int64_t step) {
  std::string e;
  put_key(e, 1, kFixed64);  // wall_time
  put_le<double>(e, unix_time());
  put_key(e, 2, kVarint);  // step
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  static std::atomic<int> counter{0};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  HEMO_CHECK(!ec, "EventWriter: cannot create directory ", dir, ": ", ec.message());
  const auto seconds = static_cast<long long>(unix_time());
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(seconds) + "." + hostname() + "." +
                                         std::to_string(getpid()) + "." + std::to_string(counter++)))
              .string();
  out_ = std::make_unique<OutputFile>(path_, OutputFile::Mode::truncate);
  std::string e = event_header(0);
  put_bytes(e, 3, "brain.Event:2");  // file_version
  write_record(e);
  flush();
}

void EventWriter::write_record(const std::string& data) {
  std::string frame;
  put_le<uint64_t>(frame, data.size());
  put_le<uint32_t>(frame, masked_crc32c(frame.data(), 8));
  frame += data;
  put_le<uint32_t>(frame, masked_crc32c(data.data(), data.size()));
  out_->write(frame);
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string v;
  put_bytes(v, 1, tag);  // Value.tag
  put_key(v, 2, kFixed32);  // Value.simple_value
  put_le<float>(v, static_cast<float>(value));
  std::string summary;
  put_bytes(summary, 1, v);  // Summary.value
  std::string e = event_header(step);
  put_bytes(e, 5, summary);  // Event.summary
  write_record(e);
}

void EventWriter::flush() {}

}  // namespace hemo::train
