#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <system_error>

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

ImageFolder scan_image_folder(const fs::path& root, const ScanOptions& opts) {
  ImageFolder folder;
  folder.root = root;
  folder.classes = find_classes(root);
  if (folder.classes.empty())
    throw Error(cat(root.string(), ": no class folders (an ImageFolder has one subfolder per class)"));
  if (folder.classes.size() == 1)
    throw Error(cat(root.string(), ": only one class folder ('", folder.classes[0],
                    "'); classification needs at least two"));
  for (size_t label = 0; label < folder.classes.size(); ++label) {
    const fs::path dir = root / folder.classes[label];
    std::vector<fs::path> files;
    std::error_code ec;
    const auto options = fs::directory_options::follow_directory_symlink;
    for (auto it = fs::recursive_directory_iterator(dir, options, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && has_image_extension(it->path())) files.push_back(it->path());
    }
    if (ec) throw Error(cat(dir.string(), ": cannot list folder (", ec.message(), ")"));
    std::sort(files.begin(), files.end());
    size_t kept = 0;
    for (const fs::path& f : files) {
      std::string why = verify_image_file(f, opts.verify, opts.decode);
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
