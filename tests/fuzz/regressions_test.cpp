// The fuzz readers (tests/fuzz/readers.h) in the ordinary build: on the seed corpus
// (make_corpus.py, written at test time), on deterministic mutations of every seed (truncations,
// byte flips, inserted and appended bytes) and on every input a fuzzing run ever found
// (tests/fuzz/regressions/<target>/). Each may be accepted or refused with hemo::Error; any other
// exception fails the test here, and a crash or sanitizer report fails the process.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <typeinfo>
#include <vector>

#include "tensor/rng.h"
#include "tests/fuzz/readers.h"
#include "tests/train/train_test_util.h"

namespace fs = std::filesystem;
using namespace hemo;

namespace {
const char* const kTargets[] = {"image", "safetensors", "checkpoint", "manifest"};

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Tally {
  int64_t accepted = 0, refused = 0;
};

// Runs the reader; an exception other than hemo::Error fails the test, naming the input.
void feed(fuzz::Reader read, const std::vector<uint8_t>& bytes, const std::string& what, Tally& tally) {
  try {
    read(bytes);
    ++tally.accepted;
  } catch (const Error&) {
    ++tally.refused;
  } catch (const std::exception& e) {
    FAIL(what, ": ", std::string(typeid(e).name()), " escaped the reader instead of hemo::Error: ",
         std::string(e.what()));
  }
}

// Mutations of one seed, the same on every run.
std::vector<std::vector<uint8_t>> mutations(const std::vector<uint8_t>& seed, uint64_t stream) {
  std::vector<std::vector<uint8_t>> out;
  Generator g(2026, stream);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, seed.size() / 3, seed.size() / 2, seed.size() - 1})
    if (cut < seed.size()) out.emplace_back(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(cut));
  for (int i = 0; i < 48 && !seed.empty(); ++i) {
    std::vector<uint8_t> m = seed;
    const auto at = static_cast<size_t>(g.uniform(0.0, static_cast<double>(m.size())));
    const uint8_t v = i % 3 == 0 ? 0xff : i % 3 == 1 ? 0x00 : static_cast<uint8_t>(g.uniform(0.0, 256.0));
    if (i % 4 == 3)
      m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), v);
    else
      m[at] = v;
    out.push_back(std::move(m));
  }
  std::vector<uint8_t> longer = seed;
  longer.insert(longer.end(), 64, 0x41);
  out.push_back(std::move(longer));
  return out;
}
}  // namespace

TEST_CASE("fuzz readers: seeds, their mutations and every saved finding give hemo::Error or a result") {
  const fs::path seeds = fs::path(HEMO_TEST_WORK_DIR) / "fuzz-seeds";
  fs::remove_all(seeds);
  const auto gen = test::run_captured(test::shell_quote(HEMO_PYTHON) + " " +
                                      test::shell_quote(std::string(HEMO_SOURCE_DIR) + "/tests/fuzz/make_corpus.py") +
                                      " " + test::shell_quote(seeds.string()));
  REQUIRE_MESSAGE(gen.status == 0, "make_corpus.py failed: ", gen.out, gen.err);
  for (const std::string target : kTargets) {
    CAPTURE(target);
    const fuzz::Reader read = fuzz::reader(target);
    REQUIRE(static_cast<bool>(read));
    Tally seed_tally, mutant_tally, regression_tally;
    const std::vector<fs::path> seed_files = files_in(seeds / target);
    REQUIRE(seed_files.size() >= 3);
    uint64_t stream = 0;
    for (const fs::path& p : seed_files) {
      const std::vector<uint8_t> seed = read_file(p);
      feed(read, seed, p.string(), seed_tally);
      for (const auto& m : mutations(seed, stream++)) feed(read, m, "a mutation of " + p.string(), mutant_tally);
    }
    for (const fs::path& p : files_in(fs::path(HEMO_SOURCE_DIR) / "tests/fuzz/regressions" / target))
      feed(read, read_file(p), p.string(), regression_tally);
    MESSAGE(target, ": seeds ", seed_tally.accepted, " accepted / ", seed_tally.refused, " refused; mutations ",
            mutant_tally.accepted, " / ", mutant_tally.refused, "; saved findings ", regression_tally.accepted, " / ",
            regression_tally.refused);
    CHECK(seed_tally.accepted >= 2);  // valid seeds are read, not refused
    CHECK(mutant_tally.refused > 0);                   // and the mutations reach the error paths
  }
  CHECK_FALSE(static_cast<bool>(fuzz::reader("no such target")));
}
