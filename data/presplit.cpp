// Pre-split folders (root/train, root/val, root/test) and load_or_create_manifest (manifest.h).
#include <algorithm>
#include <system_error>

#include <sys/stat.h>

#include "core/error.h"
#include "data/manifest.h"

namespace hemo::data {
namespace fs = std::filesystem;

namespace {

// The split a top-level folder name stands for, or -1.
int split_of_folder(const std::string& name) {
  if (name == "train") return static_cast<int>(Split::Train);
  if (name == "val" || name == "valid" || name == "validation") return static_cast<int>(Split::Val);
  if (name == "test") return static_cast<int>(Split::Test);
  return -1;
}

}  // namespace

bool is_presplit_folder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return false;
  bool train = false, other = false;
  for (const std::string& name : find_classes(root)) {
    const int s = split_of_folder(name);
    if (s < 0) return false;
    if (s == static_cast<int>(Split::Train)) train = true;
    else other = true;
  }
  return train && other;
}

Manifest scan_presplit_folder(const fs::path& root, const ScanOptions& opts,
                              std::vector<Skipped>* skipped) {
  Manifest m;
  m.root = root;
  std::vector<std::string> folders = find_classes(root);
  // train first, so its classes are the reference.
  std::stable_sort(folders.begin(), folders.end(), [](const std::string& a, const std::string& b) {
    return split_of_folder(a) < split_of_folder(b);
  });
  // One memory for all splits: a link from one split into another is not followed, a file linked
  // into two splits is kept in the first (train, val, test) only.
  ScanMemory memory;
  struct stat st {};
  if (::stat(root.c_str(), &st) == 0) memory.folders.insert({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  for (const std::string& name : folders) {
    const int s = split_of_folder(name);
    if (s < 0) throw Error(cat((root / name).string(), ": not a train/val/test folder"));
    ImageFolder part = scan_image_folder(root / name, opts, &memory);
    if (s == static_cast<int>(Split::Train)) {
      m.classes = part.classes;
    } else {
      for (const std::string& c : part.classes)
        if (!std::binary_search(m.classes.begin(), m.classes.end(), c))
          throw Error(cat((root / name / c).string(), ": class '", c, "' is not in ",
                          (root / "train").string()));
    }
    for (const Sample& smp : part.samples)
      m.entries.push_back({fs::path(smp.path).lexically_relative(root).generic_string(),
                           part.classes[static_cast<size_t>(smp.label)], static_cast<Split>(s)});
    if (skipped) skipped->insert(skipped->end(), part.skipped.begin(), part.skipped.end());
  }
  return m;
}

Manifest load_or_create_manifest(const fs::path& root, const fs::path& manifest_path,
                                 const SplitOptions& opts, std::vector<Skipped>* skipped) {
  if (is_presplit_folder(root)) return scan_presplit_folder(root, opts.scan, skipped);
  std::error_code ec;
  if (!manifest_path.empty() && fs::exists(manifest_path, ec)) {
    Manifest m = read_manifest(manifest_path, root);
    for (const ManifestEntry& e : m.entries) {
      if (!fs::is_regular_file(root / e.path, ec))
        throw Error(cat(manifest_path.string(), ": lists '", e.path, "', which is not a file under ",
                        root.string(), " (wrong --data folder? delete the manifest to re-split)"));
    }
    return m;
  }
  const ImageFolder folder = scan_image_folder(root, opts.scan);
  if (skipped) skipped->insert(skipped->end(), folder.skipped.begin(), folder.skipped.end());
  Manifest m = make_split(folder, opts.ratios, opts.seed);
  if (!manifest_path.empty()) write_manifest(manifest_path, m);
  return m;
}

}  // namespace hemo::data
