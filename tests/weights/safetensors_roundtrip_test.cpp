// safetensors writer and reader: round trips of every dtype, the byte layout the reference
// produces, typed access, writer argument checks and crash-safe save.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "weights/safetensors.h"

namespace st = hemo::safetensors;
namespace fs = std::filesystem;

namespace {

constexpr st::DType kAll[] = {st::DType::F64, st::DType::F32, st::DType::F16, st::DType::BF16,
                              st::DType::I64, st::DType::I32, st::DType::I16, st::DType::I8,
                              st::DType::U8,  st::DType::BOOL, st::DType::U16, st::DType::U32,
                              st::DType::U64};

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n, bool boolean) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = boolean ? static_cast<uint8_t>(rng() & 1u) : static_cast<uint8_t>(1 + rng() % 255);
  if (boolean && n > 0) v[0] = 1;  // never all zero
  return v;
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(HEMO_TEST_WORK_DIR) / "weights" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool has_temp_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

std::vector<st::Entry> one_tensor(float v) {
  const float vals[3] = {v, v + 1, v + 2};
  return {st::make_entry<float>("w", {3}, vals)};
}

}  // namespace

TEST_CASE("safetensors: dtype names and sizes follow the format") {
  CHECK(st::dtype_size(st::DType::F64) == 8);
  CHECK(st::dtype_size(st::DType::BF16) == 2);
  CHECK(st::dtype_size(st::DType::BOOL) == 1);
  CHECK(st::dtype_size(st::DType::U32) == 4);
  for (st::DType d : kAll) {
    st::DType back{};
    REQUIRE(st::parse_dtype(st::dtype_name(d), &back));
    CHECK(back == d);
  }
  st::DType unused{};
  CHECK_FALSE(st::parse_dtype("F8_E4M3", &unused));
}

TEST_CASE("safetensors: every dtype round trips with odd shapes, a scalar, empties, metadata") {
  std::mt19937 rng(1234);
  const std::vector<std::vector<int64_t>> shapes = {{3, 5, 7}, {1}, {}, {2, 0, 3}, {11, 1}, {0}};
  std::vector<st::Entry> entries;
  int k = 0;
  for (st::DType d : kAll)
    for (const auto& shape : shapes) {
      int64_t n = 1;
      for (int64_t s : shape) n *= s;
      entries.push_back({"layer" + std::to_string(k++) + ".weight", d, shape,
                         random_bytes(rng, static_cast<size_t>(n) * st::dtype_size(d), d == st::DType::BOOL)});
    }
  std::reverse(entries.begin(), entries.end());  // the written order is not the name order
  const std::map<std::string, std::string> meta = {
      {"arch", "pbcnet7"}, {"classes", "basophil,eosinophil"}, {"note", "5 \xc2\xb5m, \"quoted\""}};

  const std::vector<uint8_t> bytes = st::serialize(entries, meta);
  const st::File f = st::File::parse(bytes, "roundtrip");
  CHECK(f.metadata() == meta);
  REQUIRE(f.tensors().size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const st::Entry& e = entries[i];
    INFO(e.name);
    const st::TensorInfo& t = f.tensors()[i];  // sorted by offset == written order
    CHECK(t.name == e.name);
    CHECK(t.dtype == e.dtype);
    CHECK(t.shape == e.shape);
    const auto got = f.bytes(e.name);
    CHECK(std::vector<uint8_t>(got.begin(), got.end()) == e.data);
    CHECK(t.numel() * static_cast<int64_t>(st::dtype_size(t.dtype)) == static_cast<int64_t>(e.data.size()));
  }

  const fs::path dir = scratch("roundtrip");
  st::save((dir / "all.safetensors").string(), entries, meta);
  CHECK(read_file(dir / "all.safetensors") == bytes);
  CHECK_FALSE(has_temp_files(dir));
  const st::File g = st::File::load((dir / "all.safetensors").string());
  CHECK(g.origin() == (dir / "all.safetensors").string());
  CHECK(g.tensors().size() == entries.size());
}

TEST_CASE("safetensors: the writer produces the reference's exact bytes") {
  // Expected bytes are those of the Rust crate's own tests (test_serialization, test_empty).
  const float v[6] = {0, 1, 2, 3, 4, 5};
  const auto out = st::serialize({st::make_entry<float>("attn.0", {1, 2, 3}, v)});
  const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(out.size() == 8 + header.size() + 24);
  CHECK(out[0] == 64);
  CHECK(std::string(out.begin() + 8, out.begin() + 8 + 64) == header);

  const std::vector<uint8_t> empty = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
  CHECK(st::serialize({}) == empty);
  const auto with_meta = st::serialize({}, {{"framework", "pt"}});
  CHECK(with_meta.size() == 48);
  CHECK(std::string(with_meta.begin() + 8, with_meta.end()) ==
        R"({"__metadata__":{"framework":"pt"}}     )");

  // __metadata__ comes first, then tensors in the given order; header padded to 8 bytes.
  const int32_t a[2] = {1, 2};
  const auto mixed = st::serialize({st::make_entry<int32_t>("z", {2}, a), st::make_entry<int32_t>("a", {1}, a)},
                                   {{"k", "v"}});
  uint64_t n = 0;
  std::memcpy(&n, mixed.data(), 8);
  CHECK(n % 8 == 0);
  const std::string h(mixed.begin() + 8, mixed.begin() + 8 + static_cast<long>(n));
  CHECK(h.find("__metadata__") < h.find("\"z\""));
  CHECK(h.find("\"z\"") < h.find("\"a\""));
}

TEST_CASE("safetensors: typed values, lookups and their errors") {
  const double d[3] = {1.5, -2.25, 1e300};
  const int64_t i[2] = {-5, 1LL << 40};
  const uint8_t flags[3] = {0, 1, 1};
  st::Entry b{"mask", st::DType::BOOL, {3}, {0, 1, 1}};
  const auto bytes = st::serialize({st::make_entry<double>("d", {3}, d),
                                    st::make_entry<int64_t>("i", {2, 1}, i), std::move(b),
                                    st::make_entry<uint8_t>("u", {3}, flags)});
  const st::File f = st::File::parse(bytes, "typed.safetensors");
  CHECK(f.values<double>("d") == std::vector<double>{1.5, -2.25, 1e300});
  CHECK(f.values<int64_t>("i") == std::vector<int64_t>{-5, 1LL << 40});
  CHECK(f.values<uint8_t>("mask") == std::vector<uint8_t>{0, 1, 1});
  CHECK(f.values<uint8_t>("u") == std::vector<uint8_t>{0, 1, 1});
  CHECK(f.contains("d"));
  CHECK_FALSE(f.contains("nope"));
  CHECK(f.info("i").shape == std::vector<int64_t>{2, 1});
  CHECK(f.info("i").numel() == 2);
  CHECK_THROWS_WITH_AS(f.info("nope"), doctest::Contains("typed.safetensors"), hemo::Error);
  CHECK_THROWS_WITH_AS(f.bytes("nope"), doctest::Contains("\"nope\""), hemo::Error);
  CHECK_THROWS_WITH_AS(f.values<float>("d"), doctest::Contains("has dtype F64, asked for F32"),
                       hemo::Error);
  CHECK_THROWS_WITH_AS(f.values<int32_t>("i"), doctest::Contains("I64"), hemo::Error);
}

TEST_CASE("safetensors: the writer rejects malformed entries") {
  const float v[4] = {1, 2, 3, 4};
  CHECK_THROWS_WITH_AS(st::serialize({{"w", st::DType::F32, {2, 2}, {1, 2, 3}}}),
                       doctest::Contains("needs 16"), hemo::Error);
  CHECK_THROWS_WITH_AS(st::serialize({st::make_entry<float>("w", {2}, v), st::make_entry<float>("w", {2}, v)}),
                       doctest::Contains("duplicate"), hemo::Error);
  CHECK_THROWS_WITH_AS(st::serialize({{"w", st::DType::F32, {-1}, {}}}), doctest::Contains("negative"),
                       hemo::Error);
  CHECK_THROWS_WITH_AS(st::serialize({st::make_entry<float>("__metadata__", {1}, v)}),
                       doctest::Contains("reserved"), hemo::Error);
  CHECK_THROWS_AS(st::serialize({st::make_entry<float>("bad\xff", {1}, v)}), hemo::Error);
}

TEST_CASE("safetensors: save is crash-safe and never damages the previous file") {
  const fs::path dir = scratch("save");
  const std::string path = (dir / "model.safetensors").string();
  st::save(path, one_tensor(1.0f), {{"epoch", "1"}});
  const std::vector<uint8_t> before = read_file(path);
  CHECK(st::File::load(path).values<float>("w") == std::vector<float>{1, 2, 3});

  SUBCASE("invalid entries throw before touching the disk") {
    CHECK_THROWS_AS(st::save(path, {{"w", st::DType::F32, {2}, {1}}}), hemo::Error);
  }
  SUBCASE("a missing directory names the path and the errno text") {
    const std::string bad = (dir / "no_such_dir" / "m.safetensors").string();
    CHECK_THROWS_WITH_AS(st::save(bad, one_tensor(2.0f)), doctest::Contains("No such file or directory"),
                         hemo::Error);
    CHECK_THROWS_WITH_AS(st::save(bad, one_tensor(2.0f)), doctest::Contains(bad.c_str()), hemo::Error);
  }
  SUBCASE("a failed rename removes the temporary file") {
    const fs::path blocker = dir / "blocker.safetensors";  // a non-empty directory: rename fails
    fs::create_directories(blocker / "keep");
    CHECK_THROWS_WITH_AS(st::save(blocker.string(), one_tensor(2.0f)), doctest::Contains("rename"),
                         hemo::Error);
    CHECK(fs::is_directory(blocker / "keep"));
  }
  SUBCASE("a failed write (file size limit) leaves the old file intact") {
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 64;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::vector<float> big(1000, 3.0f);
    bool threw = false;
    std::string what;
    try {
      st::save(path, {st::make_entry<float>("big", {1000}, big.data())});
    } catch (const hemo::Error& e) {
      threw = true;
      what = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK(threw);
    CHECK(what.find(".tmp.") != std::string::npos);
    CHECK(what.find("write failed") != std::string::npos);
  }
  CHECK(read_file(path) == before);
  CHECK_FALSE(has_temp_files(dir));

  st::save(path, one_tensor(7.0f));  // a successful save replaces the file
  CHECK(st::File::load(path).values<float>("w") == std::vector<float>{7, 8, 9});
  CHECK(st::File::load(path).metadata().empty());
  CHECK_THROWS_WITH_AS(st::File::load((dir / "absent").string()), doctest::Contains("absent"),
                       hemo::Error);
}
