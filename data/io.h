// File helpers of the data pipeline: whole-file reads and atomic writes with errors that name the
// path and the reason (missing, a directory, unreadable, disk full).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace hemo::data {

// Reads a whole regular file. Throws hemo::Error "PATH: no such file", "PATH: is a directory",
// "PATH: cannot open (Permission denied)", ...
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path);

// Writes bytes to `path` through a temporary file in the same folder and a rename, so a reader
// never sees half a file. Creates missing parent folders.
void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

}  // namespace hemo::data
