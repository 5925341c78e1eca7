// Split manifests: which file of a dataset is in train, val or test, decided once and reused, so
// every model is compared on the same images.
//
// File format: CSV (RFC 4180 quoting), header line "path,class,split", one row per image; path is
// relative to the dataset root with '/' separators, split is train|val|test. Rows are sorted by
// split, then class, then path, so the same split is the same bytes.
//
// Splitting is stratified: within each class the files (sorted by path) are shuffled with a stream
// derived from the seed and the class index, then cut at the ratios. Counts per class are the
// ratios times the class size rounded by largest remainder (ties: train, val, test), so they
// always add up; 25 images at 70/20/10 give 18/5/2.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image_folder.h"

namespace hemo::data {

enum class Split { Train, Val, Test };
const char* split_name(Split s);  // "train", "val", "test"

struct SplitRatios {
  double train = 0.7, val = 0.2, test = 0.1;  // >= 0, summing to 1 (paper 002: 0.64/0.24/0.12)
};

struct ManifestEntry {
  std::string path;        // relative to the dataset root, '/' separated
  std::string class_name;
  Split split = Split::Train;
};

struct Manifest {
  std::filesystem::path root;        // dataset root the paths are relative to
  std::vector<std::string> classes;  // sorted; labels index this list
  std::vector<ManifestEntry> entries;

  // The samples of one split with absolute-ish paths (root / path) and labels.
  std::vector<Sample> samples(Split s) const;
  // Number of entries per (class, split): counts[class][split].
  std::vector<std::array<int64_t, 3>> counts() const;
  std::string to_csv() const;
};

// Stratified, seeded split of a scanned folder (see above). Throws on invalid ratios.
Manifest make_split(const ImageFolder& folder, const SplitRatios& ratios, uint64_t seed);

// Parses a manifest; paths in it are relative to `root`. Errors name the file and line.
Manifest parse_manifest(const std::string& csv, const std::filesystem::path& root,
                        const std::string& source_name);
Manifest read_manifest(const std::filesystem::path& manifest_path, const std::filesystem::path& root);
void write_manifest(const std::filesystem::path& manifest_path, const Manifest& m);

// A root holding train/ and at least one of val/ (or valid/, validation/) and test/, and no other
// folder but hidden ones,
// each an ImageFolder: the split is taken as it is.
bool is_presplit_folder(const std::filesystem::path& root);
// Scans such a root: paths in the manifest are "train/<class>/<file>" etc. Every split must use
// class names from train/. Skipped files of all splits are appended to `skipped` when given.
Manifest scan_presplit_folder(const std::filesystem::path& root, const ScanOptions& opts,
                              std::vector<Skipped>* skipped = nullptr);

struct SplitOptions {
  SplitRatios ratios;
  uint64_t seed = 0;
  ScanOptions scan;
};

// The usual entry point:
//   - a pre-split root (see above) is taken as it is (and nothing is written);
//   - else, when `manifest_path` exists, it is read and reused, after checking that every file it
//     lists still exists (an error names the first missing one; delete the manifest to re-split);
//   - else the root is scanned, split with opts and the manifest written (atomically).
// Skipped files of a fresh scan are appended to `skipped` when given.
Manifest load_or_create_manifest(const std::filesystem::path& root,
                                 const std::filesystem::path& manifest_path,
                                 const SplitOptions& opts, std::vector<Skipped>* skipped = nullptr);

}  // namespace hemo::data
