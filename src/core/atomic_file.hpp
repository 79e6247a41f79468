#pragma once
// Writing a file so that readers see the old content or the new, never half
// of it, and a crash right after success still finds the new content:
// temporary file in the same folder, fsync, rename (or link when an
// existing file must not be replaced), fsync of the folder.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::core {

enum class Overwrite { refuse, replace };

// `mode` is applied before the content is written (0600 keeps keys private
// from the first byte). With Overwrite::refuse an existing file is an error.
core::Result<void, std::string> write_file_atomically(const std::filesystem::path& file,
                                                      std::string_view content, unsigned mode,
                                                      Overwrite overwrite);

// Renames `from` to `to` (same folder tree) and makes the rename durable.
core::Result<void, std::string> rename_durably(const std::filesystem::path& from,
                                               const std::filesystem::path& to);

// Removes `file` and makes the removal durable.
core::Result<void, std::string> remove_file_durably(const std::filesystem::path& file);

}  // namespace ucedge::core
