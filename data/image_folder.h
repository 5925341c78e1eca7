// ImageFolder, as torchvision's datasets.ImageFolder: every subfolder of the root is a class,
// classes are sorted by name (byte order) and numbered from 0, and every file below a class
// folder (recursively, in sorted order) whose extension is .jpg, .jpeg, .png or .bmp, in any
// letter case, is a sample of that class. Differences from torchvision, on purpose:
//   - folders whose name starts with '.' (.ipynb_checkpoints, .git) are not classes;
//   - each candidate file is checked (ScanOptions::verify) and one that is not a decodable image
//     is skipped and recorded with its path and the reason, instead of failing later in a worker.
//     A real case: pbc-mini/neutrophil/.DS_169665.jpg, an Apple .DS_Store file with a .jpg name.
//   - symbolic links are followed, but never into a folder already scanned (by device and inode:
//     the root, a class folder, a folder met before), so a link loop ends and no image appears
//     under two classes; the link is recorded in `skipped`. A file reached a second time (through
//     a link, or a hard link) is kept once, under its first path in scan order; the later paths
//     are recorded in `skipped`, naming the first.
// Errors (hemo::Error, naming the folder): the root is missing or not a folder; it has no class
// folder; it has a single class; a class folder holds no usable image.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/decode.h"

namespace hemo::data {

// True for .jpg .jpeg .png .bmp in any letter case.
bool has_image_extension(const std::filesystem::path& p);

struct Sample {
  std::string path;   // root / class / ... / file, as a path string
  int64_t label = 0;  // index into the sorted class list
};

struct Skipped {
  std::string path;
  std::string reason;  // the decoder's message, e.g. "...: not a JPEG, PNG or BMP image (...)"
};

enum class Verify {
  None,    // trust the extension; a bad file then fails when the loader decodes it
  Header,  // read each file and parse its header (format, size, pixel limit): the default
  Full,    // decode each file completely (catches truncated data; slower)
};

struct ScanOptions {
  Verify verify = Verify::Header;
  DecodeOptions decode;
};

struct ImageFolder {
  std::filesystem::path root;
  std::vector<std::string> classes;  // sorted
  std::vector<Sample> samples;       // by class, then by path
  std::vector<Skipped> skipped;      // image files that failed verification, second paths to a
                                     // file already kept, links to folders already scanned

  // "200 images in 8 classes under DIR (1 file skipped)".
  std::string summary() const;
  // One line per skipped file: "skipped PATH: REASON".
  std::string skipped_report() const;
};

// A file or folder, by device and inode.
using FileId = std::pair<uint64_t, uint64_t>;

// What scans have met: folders entered, and each file's first path. Scans sharing one (the
// splits of a pre-split folder) never enter a folder twice nor keep a file twice between them.
struct ScanMemory {
  std::set<FileId> folders;
  std::map<FileId, std::string> files;
};

// Scans `root` as described above. Throws hemo::Error for the folder-level errors.
ImageFolder scan_image_folder(const std::filesystem::path& root, const ScanOptions& opts = {},
                              ScanMemory* memory = nullptr);

// The class subfolders of `root` (sorted, hidden folders excluded); throws if root is not a folder.
std::vector<std::string> find_classes(const std::filesystem::path& root);

// Checks one file as `verify` asks; returns the reason it is unusable, or "" when it is fine.
std::string verify_image_file(const std::filesystem::path& path, Verify verify,
                              const DecodeOptions& opts);

}  // namespace hemo::data
