// Helpers shared by the data-pipeline tests (tests/data, tests/robustness): scratch folders, the
// real images in ../shared/data (when present), synthetic image folders, running Python.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/encode.h"
#include "data/image.h"
#include "data/synth.h"

namespace hemo::data::test {

namespace fs = std::filesystem;

// A fresh, empty scratch folder HEMO_TEST_WORK_DIR/<name>.
inline fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::path(HEMO_TEST_WORK_DIR) / "data" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// ../shared/data/pbc-mini, or an empty path (with a visible message) when it is absent.
inline fs::path pbc_mini() {
  const fs::path p = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
  if (!fs::is_directory(p)) {
    MESSAGE("../shared/data/pbc-mini is absent (", p.string(),
            "): using synthetic images instead of the real ones");
    return {};
  }
  return p;
}

// The real JPEGs of pbc-mini (sorted), or synthetic JPEGs written to `fallback_dir` when absent.
inline std::vector<fs::path> real_or_synthetic_jpegs(const fs::path& fallback_dir, size_t limit = 1000) {
  std::vector<fs::path> out;
  const fs::path real = pbc_mini();
  if (!real.empty()) {
    for (const auto& e : fs::recursive_directory_iterator(real))
      if (e.is_regular_file() && e.path().extension() == ".jpg" &&
          e.path().filename().string()[0] != '.')
        out.push_back(e.path());
    std::sort(out.begin(), out.end());
  } else {
    fs::create_directories(fallback_dir);
    for (int c = 0; c < 8; ++c)
      for (int i = 0; i < 3; ++i) {
        const fs::path p = fallback_dir / ("synth_" + std::to_string(c) + "_" + std::to_string(i) + ".jpg");
        save_image(p, synth::draw_cell(c, 360, 11, i), 90);
        out.push_back(p);
      }
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

inline void append_quoted(std::string& out, const std::string& s) {
  out.push_back('\'');
  for (char c : s) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
}

// Runs HEMO_PYTHON with a script from tests/data and arguments; returns the exit status.
inline int run_python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd;
  append_quoted(cmd, HEMO_PYTHON);
  cmd.push_back(' ');
  append_quoted(cmd, (fs::path(HEMO_SOURCE_DIR) / "tests" / "data" / script).string());
  for (const std::string& a : args) {
    cmd.push_back(' ');
    append_quoted(cmd, a);
  }
  return std::system(cmd.c_str());
}

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A small ImageFolder of synthetic PNGs: `classes` folders with `per_class` images of side `size`.
inline fs::path synthetic_folder(const std::string& name, int per_class, int size = 48) {
  const fs::path dir = scratch_dir(name);
  fs::remove(dir);
  synth::generate(dir, per_class, size, 5, "png", 2);
  return dir;
}

}  // namespace hemo::data::test
