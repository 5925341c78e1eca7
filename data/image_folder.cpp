#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <system_error>

#include <sys/stat.h>

#include "core/error.h"
#include "data/io.h"

namespace hemo::data {
namespace fs = std::filesystem;

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

namespace {
bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}
}  // namespace

std::vector<std::string> find_classes(const fs::path& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw Error(cat(root.string(), ": dataset folder does not exist"));
  if (!fs::is_directory(root, ec)) throw Error(cat(root.string(), ": dataset root is not a folder"));
  std::vector<std::string> classes;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    if (e.is_directory(ec) && !hidden(e.path())) classes.push_back(e.path().filename().string());
  }
  if (ec) throw Error(cat(root.string(), ": cannot list folder (", ec.message(), ")"));
  std::sort(classes.begin(), classes.end());
  return classes;
}

std::string verify_image_file(const fs::path& path, Verify verify, const DecodeOptions& opts) {
  if (verify == Verify::None) return "";
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(path);
    if (verify == Verify::Header) {
      probe_image(bytes, path.string(), opts);
    } else {
      decode_image(bytes, path.string(), opts);
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

namespace {
// The file or folder a path leads to (links followed), by device and inode; false when it is gone.
bool identify(const fs::path& p, FileId& id, bool& is_dir, bool& is_file) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return false;
  id = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  is_dir = S_ISDIR(st.st_mode);
  is_file = S_ISREG(st.st_mode);
  return true;
}

// Depth-first, entries in sorted order; a folder met before (a link loop, or a second link to
// it) is noted in `skipped` and not entered.
void walk(const fs::path& dir, ScanMemory& mem, std::vector<std::pair<fs::path, FileId>>& files,
          std::vector<Skipped>& skipped) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    entries.push_back(it->path());
  if (ec) throw Error(cat(dir.string(), ": cannot list folder (", ec.message(), ")"));
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    FileId id;
    bool is_dir = false, is_file = false;
    if (!identify(p, id, is_dir, is_file)) continue;  // a dangling link: nothing there
    if (is_dir) {
      if (mem.folders.insert(id).second) {
        walk(p, mem, files, skipped);
      } else {
        skipped.push_back({p.string(), cat(p.string(), ": leads to a folder already scanned (",
                                           fs::canonical(p, ec).string(), "), a link loop or a second way",
                                           " to it; not followed")});
      }
    } else if (is_file && has_image_extension(p)) {
      files.emplace_back(p, id);
    }
  }
}
}  // namespace

ImageFolder scan_image_folder(const fs::path& root, const ScanOptions& opts, ScanMemory* memory) {
  ImageFolder folder;
  folder.root = root;
  folder.classes = find_classes(root);
  if (folder.classes.empty())
    throw Error(cat(root.string(), ": no class folders (an ImageFolder has one subfolder per class)"));
  if (folder.classes.size() == 1)
    throw Error(cat(root.string(), ": only one class folder ('", folder.classes[0],
                    "'); classification needs at least two"));
  ScanMemory own;
  ScanMemory& mem = memory ? *memory : own;
  // The root and every class folder count as scanned from the start: a link to one of them (from
  // inside a class) is not followed, so no image appears under two classes.
  FileId id;
  bool is_dir = false, is_file = false;
  if (identify(root, id, is_dir, is_file)) mem.folders.insert(id);
  for (const std::string& c : folder.classes)
    if (identify(root / c, id, is_dir, is_file)) mem.folders.insert(id);
  for (size_t label = 0; label < folder.classes.size(); ++label) {
    const fs::path dir = root / folder.classes[label];
    std::vector<std::pair<fs::path, FileId>> files;
    walk(dir, mem, files, folder.skipped);
    std::sort(files.begin(), files.end());
    size_t kept = 0;
    for (const auto& [f, fid] : files) {
      const auto [first, fresh] = mem.files.emplace(fid, f.string());
      std::string why = fresh ? verify_image_file(f, opts.verify, opts.decode)
                              : cat(f.string(), ": the same file as ", first->second,
                                    " (reached again through a link); only ", first->second, " is used");
      if (why.empty()) {
        folder.samples.push_back({f.string(), static_cast<int64_t>(label)});
        ++kept;
      } else {
        folder.skipped.push_back({f.string(), std::move(why)});
      }
    }
    if (kept == 0)
      throw Error(cat(dir.string(), ": class folder '", folder.classes[label], "' holds no usable",
                      " image (.jpg .jpeg .png .bmp)", files.empty() ? "" : "; all failed to decode"));
  }
  return folder;
}

std::string ImageFolder::summary() const {
  std::string s = cat(samples.size(), " images in ", classes.size(), " classes under ", root.string());
  if (!skipped.empty())
    s += cat(" (", skipped.size(), skipped.size() == 1 ? " file" : " files", " skipped)");
  return s;
}

std::string ImageFolder::skipped_report() const {
  std::string s;
  for (const Skipped& k : skipped) {
    // The reason already starts with the path; do not repeat it.
    const bool named = k.reason.rfind(k.path, 0) == 0;
    s += named ? cat("skipped ", k.reason, "\n") : cat("skipped ", k.path, ": ", k.reason, "\n");
  }
  return s;
}

}  // namespace hemo::data
