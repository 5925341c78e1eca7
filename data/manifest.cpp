#include "data/manifest.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <system_error>

#include "core/error.h"
#include "data/io.h"
#include "data/rng.h"

namespace hemo::data {
namespace fs = std::filesystem;

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

namespace {

constexpr uint64_t kSplitStream = 0x5350'4C49'5400'0000ull;  // "SPLIT"

std::string relative_path(const fs::path& file, const fs::path& root) {
  return file.lexically_relative(root).generic_string();
}

void sort_entries(Manifest& m) {
  std::map<std::string, size_t> class_index;
  for (size_t i = 0; i < m.classes.size(); ++i) class_index[m.classes[i]] = i;
  std::sort(m.entries.begin(), m.entries.end(), [&](const ManifestEntry& a, const ManifestEntry& b) {
    if (a.split != b.split) return a.split < b.split;
    if (a.class_name != b.class_name) return class_index[a.class_name] < class_index[b.class_name];
    return a.path < b.path;
  });
}

// Counts per split for n items: floor of n*ratio, then the remainder to the largest fractions.
std::array<int64_t, 3> split_counts(int64_t n, const SplitRatios& r) {
  const double ratio[3] = {r.train, r.val, r.test};
  std::array<int64_t, 3> c{};
  double frac[3];
  int64_t given = 0;
  for (int i = 0; i < 3; ++i) {
    const double exact = static_cast<double>(n) * ratio[i];
    c[i] = static_cast<int64_t>(std::floor(exact + 1e-9));
    frac[i] = exact - static_cast<double>(c[i]);
    given += c[i];
  }
  int order[3] = {0, 1, 2};
  std::stable_sort(order, order + 3, [&](int a, int b) { return frac[a] > frac[b] + 1e-12; });
  for (int k = 0; given < n; k = (k + 1) % 3, ++given) ++c[order[k]];
  return c;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

// Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, quotes, newlines).
std::vector<std::pair<size_t, std::vector<std::string>>> parse_csv(const std::string& text,
                                                                  const std::string& source) {
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1, row_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty() && !field_started) {
      quoted = field_started = true;
    } else if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (!row.empty() || !field.empty() || field_started) {
        row.push_back(std::move(field));
        rows.emplace_back(row_line, std::move(row));
      }
      row.clear();
      field.clear();
      field_started = false;
      row_line = ++line;
    } else {
      field += ch;
      field_started = true;
    }
  }
  if (quoted) throw Error(cat(source, ":", row_line, ": unterminated quoted field"));
  if (!row.empty() || !field.empty() || field_started) {
    row.push_back(std::move(field));
    rows.emplace_back(row_line, std::move(row));
  }
  return rows;
}

}  // namespace

std::vector<Sample> Manifest::samples(Split s) const {
  std::map<std::string, int64_t> label;
  for (size_t i = 0; i < classes.size(); ++i) label[classes[i]] = static_cast<int64_t>(i);
  std::vector<Sample> out;
  for (const ManifestEntry& e : entries)
    if (e.split == s) out.push_back({(root / e.path).string(), label.at(e.class_name)});
  return out;
}

std::vector<std::array<int64_t, 3>> Manifest::counts() const {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = i;
  std::vector<std::array<int64_t, 3>> c(classes.size(), std::array<int64_t, 3>{});
  for (const ManifestEntry& e : entries) ++c[index.at(e.class_name)][static_cast<int>(e.split)];
  return c;
}

std::string Manifest::to_csv() const {
  std::string s = "path,class,split\n";
  for (const ManifestEntry& e : entries)
    s += cat(csv_field(e.path), ",", csv_field(e.class_name), ",", split_name(e.split), "\n");
  return s;
}

Manifest make_split(const ImageFolder& folder, const SplitRatios& r, uint64_t seed) {
  const double sum = r.train + r.val + r.test;
  if (r.train < 0 || r.val < 0 || r.test < 0 || std::abs(sum - 1.0) > 1e-6 || r.train <= 0)
    throw Error(cat("split ratios ", r.train, "/", r.val, "/", r.test,
                    " are invalid: each must be >= 0, train > 0, and they must sum to 1"));
  Manifest m;
  m.root = folder.root;
  m.classes = folder.classes;
  std::vector<std::vector<std::string>> per_class(folder.classes.size());
  for (const Sample& s : folder.samples)
    per_class.at(static_cast<size_t>(s.label)).push_back(relative_path(s.path, folder.root));
  for (size_t c = 0; c < per_class.size(); ++c) {
    std::vector<std::string>& files = per_class[c];
    std::sort(files.begin(), files.end());
    Rng rng = Rng::derive(seed, kSplitStream, c);
    for (size_t i = files.size(); i > 1; --i) std::swap(files[i - 1], files[rng.below(i)]);
    const auto n = split_counts(static_cast<int64_t>(files.size()), r);
    size_t i = 0;
    for (int s = 0; s < 3; ++s)
      for (int64_t k = 0; k < n[s]; ++k, ++i)
        m.entries.push_back({files[i], folder.classes[c], static_cast<Split>(s)});
  }
  sort_entries(m);
  return m;
}

Manifest parse_manifest(const std::string& csv, const fs::path& root, const std::string& source) {
  const auto rows = parse_csv(csv, source);
  if (rows.empty() || rows[0].second != std::vector<std::string>{"path", "class", "split"})
    throw Error(cat(source, ":1: not a split manifest (expected the header 'path,class,split')"));
  Manifest m;
  m.root = root;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& [line, f] = rows[i];
    if (f.size() != 3)
      throw Error(cat(source, ":", line, ": expected 3 fields (path,class,split), found ", f.size()));
    if (f[0].empty() || f[1].empty()) throw Error(cat(source, ":", line, ": empty path or class"));
    ManifestEntry e{f[0], f[1], Split::Train};
    if (f[2] == "train") e.split = Split::Train;
    else if (f[2] == "val") e.split = Split::Val;
    else if (f[2] == "test") e.split = Split::Test;
    else throw Error(cat(source, ":", line, ": split '", f[2], "' is not train, val or test"));
    m.entries.push_back(std::move(e));
  }
  for (const ManifestEntry& e : m.entries) m.classes.push_back(e.class_name);
  std::sort(m.classes.begin(), m.classes.end());
  m.classes.erase(std::unique(m.classes.begin(), m.classes.end()), m.classes.end());
  if (m.classes.size() < 2)
    throw Error(cat(source, ": manifest names ", m.classes.size(), " class(es); need at least two"));
  return m;
}

Manifest read_manifest(const fs::path& manifest_path, const fs::path& root) {
  const std::vector<uint8_t> bytes = read_file_bytes(manifest_path);
  return parse_manifest(std::string(bytes.begin(), bytes.end()), root, manifest_path.string());
}

void write_manifest(const fs::path& manifest_path, const Manifest& m) {
  write_file_atomic(manifest_path, m.to_csv());
}

}  // namespace hemo::data
