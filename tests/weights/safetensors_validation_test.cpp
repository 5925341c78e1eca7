// safetensors reader: one corrupt buffer per validation rule of safetensors.h. Each must throw a
// FormatError whose message names the origin and contains the rule's keyword.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weights/safetensors.h"

namespace st = hemo::safetensors;

namespace {

// 8-byte little-endian N, then the header text, then data_len bytes of 0xAB.
std::vector<uint8_t> file_bytes(const std::string& header, size_t data_len, uint64_t n_override = 0) {
  const uint64_t n = n_override ? n_override : header.size();
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + data_len);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));  // little-endian
  for (char c : header) out.push_back(static_cast<uint8_t>(c));
  out.resize(out.size() + data_len, 0xAB);
  return out;
}

void expect_rule(const std::vector<uint8_t>& bytes, const std::string& keyword) {
  const std::string origin = "corrupt/case.safetensors";
  INFO("expected keyword: " << keyword);
  try {
    (void)st::File::parse(bytes, origin);
    FAIL_CHECK("parse accepted a corrupt file");
  } catch (const st::FormatError& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.find(origin) != std::string::npos);
    CHECK(msg.find(keyword) != std::string::npos);
  } catch (const std::exception& e) {
    FAIL_CHECK("threw something other than FormatError: " << e.what());
  }
}

// A header with one tensor entry "x" given as JSON text.
std::string one(const std::string& entry) { return R"({"x":)" + entry + "}"; }

}  // namespace

TEST_CASE("safetensors validation: file shorter than the 8-byte length prefix") {
  expect_rule({}, "shorter");
  expect_rule({1, 0, 0, 0, 0}, "shorter");
}

TEST_CASE("safetensors validation: header length over the reference limit") {
  expect_rule(file_bytes("{}", 0, 100'000'001), "limit");
  expect_rule(file_bytes("{}", 0, ~uint64_t{0}), "limit");  // 8 + N would overflow 64 bits
}

TEST_CASE("safetensors validation: header length past the end of the file") {
  expect_rule(file_bytes("{}", 0, 3), "past the end");
  expect_rule(file_bytes("", 0, 100'000'000), "past the end");
}

TEST_CASE("safetensors validation: header not UTF-8") {
  expect_rule(file_bytes("{\"x\xff\":1}", 0), "UTF-8");
  expect_rule(file_bytes("{\"\xc0\xaf\":1}", 0), "UTF-8");         // overlong '/'
  expect_rule(file_bytes("{\"\xed\xa0\x80\":1}", 0), "UTF-8");     // a UTF-16 surrogate
  expect_rule(file_bytes("{\"\xe2\x82\":1}", 0), "UTF-8");         // truncated sequence
}

TEST_CASE("safetensors validation: header not JSON") {
  expect_rule(file_bytes(R"({"x": {"dtype": "F32")", 0), "JSON");
  expect_rule(file_bytes("", 0), "JSON");
  expect_rule(file_bytes("{} {}", 0), "JSON");
}

TEST_CASE("safetensors validation: header or tensor entry not a JSON object") {
  expect_rule(file_bytes("[1, 2]", 0), "not an object");
  expect_rule(file_bytes(R"("text")", 0), "not an object");
  expect_rule(file_bytes(one("[0, 4]"), 4), "not an object");
}

TEST_CASE("safetensors validation: duplicate keys") {
  const std::string e = R"({"dtype":"U8","shape":[2],"data_offsets":[0,2]})";
  expect_rule(file_bytes(R"({"x":)" + e + R"(,"x":)" + e + "}", 2), "duplicate");
  expect_rule(file_bytes(one(R"({"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]})"), 2),
              "duplicate");
  expect_rule(file_bytes(R"({"__metadata__":{"a":"1","a":"2"}})", 0), "duplicate");
}

TEST_CASE("safetensors validation: tensor entry missing a field") {
  expect_rule(file_bytes(one(R"({"shape":[1],"data_offsets":[0,4]})"), 4), "missing field \"dtype\"");
  expect_rule(file_bytes(one(R"({"dtype":"F32","data_offsets":[0,4]})"), 4), "missing field \"shape\"");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1]})"), 4), "missing field \"data_offsets\"");
}

TEST_CASE("safetensors validation: fields of the wrong JSON type") {
  expect_rule(file_bytes(one(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":"1","data_offsets":[0,4]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4,8]})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":{"a":0}})"), 4), "must be");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4.0]})"), 4), "must be");
  // Integers beyond 64 bits: nlohmann reads them as floating point.
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]})"), 4),
              "must be");
}

TEST_CASE("safetensors validation: unknown dtype") {
  expect_rule(file_bytes(one(R"({"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]})"), 4),
              "unknown dtype");
  expect_rule(file_bytes(one(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), 4), "unknown dtype");
}

TEST_CASE("safetensors validation: negative shape dims and offsets") {
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), 4), "negative");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]})"), 16), "negative");
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), 4), "negative");
}

TEST_CASE("safetensors validation: shape overflow") {
  // numel overflows 64 bits
  expect_rule(file_bytes(one(R"({"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]})"), 0),
              "overflow");
  // numel fits but numel x 4 bytes does not
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]})"), 0),
              "overflow");
  // a dim that does not fit int64
  expect_rule(file_bytes(one(R"({"dtype":"U8","shape":[0,9223372036854775808],"data_offsets":[0,0]})"), 0),
              "overflow");
}

TEST_CASE("safetensors validation: data_offsets with begin > end") {
  expect_rule(file_bytes(one(R"({"dtype":"U8","shape":[0],"data_offsets":[4,0]})"), 4), "begin > end");
}

TEST_CASE("safetensors validation: offsets not contiguous") {
  const std::string a = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  // a gap between two tensors
  expect_rule(file_bytes("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
              "contiguous");
  // an overlap
  expect_rule(file_bytes("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", 6),
              "contiguous");
  // two tensors on the same bytes
  expect_rule(file_bytes("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
              "contiguous");
  // the first tensor does not start at 0
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), 8), "contiguous");
}

TEST_CASE("safetensors validation: shape x dtype size differs from the offsets' span") {
  expect_rule(file_bytes(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), 4), "span");
  expect_rule(file_bytes(one(R"({"dtype":"F16","shape":[],"data_offsets":[0,4]})"), 4), "span");
  expect_rule(file_bytes(one(R"({"dtype":"U8","shape":[0],"data_offsets":[0,1]})"), 1), "span");
}

TEST_CASE("safetensors validation: data section length differs from the last tensor's end") {
  const std::string h = one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})");
  expect_rule(file_bytes(h, 9), "data section");  // a trailing byte
  expect_rule(file_bytes(h, 7), "data section");  // a missing byte
  expect_rule(file_bytes("{}", 1), "data section");
}

TEST_CASE("safetensors validation: __metadata__ not an object of strings") {
  expect_rule(file_bytes(R"({"__metadata__":"framework=pt"})", 0), "__metadata__");
  expect_rule(file_bytes(R"({"__metadata__":["a"]})", 0), "__metadata__");
  expect_rule(file_bytes(R"({"__metadata__":{"epoch":3}})", 0), "__metadata__");
  expect_rule(file_bytes(R"({"__metadata__":{"nested":{"a":"b"}}})", 0), "__metadata__");
}

TEST_CASE("safetensors validation: what the format allows is accepted") {
  // Unordered entries, unknown extra fields, null metadata, whitespace and padding, empty tensors.
  const std::string h = R"(  { "b": {"dtype":"U8","shape":[2],"data_offsets":[4,6],"extra":1},
      "__metadata__": null, "e": {"dtype":"F64","shape":[0,3],"data_offsets":[4,4]},
      "a": {"dtype":"I32","shape":[],"data_offsets":[0,4]} }   )";
  const st::File f = st::File::parse(file_bytes(h, 6), "ok");
  REQUIRE(f.tensors().size() == 3);
  CHECK(f.tensors()[0].name == "a");
  CHECK(f.tensors()[1].name == "e");
  CHECK(f.tensors()[2].name == "b");
  CHECK(f.metadata().empty());
  CHECK(f.info("a").numel() == 1);
  CHECK(f.info("e").numel() == 0);
  CHECK(f.bytes("e").empty());
  CHECK(f.values<uint8_t>("b") == std::vector<uint8_t>{0xAB, 0xAB});
  // No tensors at all.
  CHECK(st::File::parse(file_bytes("{}", 0), "empty").tensors().empty());
}
