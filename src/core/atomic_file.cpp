#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ucedge::core {

namespace {

std::string system_error(const std::filesystem::path& file, std::string_view what) {
  return file.string() + ": " + std::string(what) + ": " + std::strerror(errno);
}

// Durability of a rename, link or unlink needs the folder synced too.
core::Result<void, std::string> sync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::fail(system_error(folder, "cannot open folder"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return core::fail(system_error(folder, "cannot sync folder"));
  return {};
}

core::Result<void, std::string> write_all(int fd, std::string_view content,
                                          const std::filesystem::path& file) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::fail(system_error(file, "write failed"));
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return core::fail(system_error(file, "fsync failed"));
  return {};
}

}  // namespace

core::Result<void, std::string> write_file_atomically(const std::filesystem::path& file,
                                                      std::string_view content, unsigned mode,
                                                      Overwrite overwrite) {
  std::filesystem::path folder = file.parent_path().empty() ? "." : file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return core::fail(folder.string() + ": cannot create folder: " + ec.message());

  std::string temp_name = (folder / ("." + file.filename().string() + ".XXXXXX")).string();
  int fd = ::mkostemp(temp_name.data(), O_CLOEXEC);
  if (fd < 0) return core::fail(system_error(folder, "cannot create a temporary file"));
  const std::filesystem::path temp(temp_name);
  auto discard = [&](std::string message) {
    ::unlink(temp.c_str());
    return core::fail(std::move(message));
  };

  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    ::close(fd);
    return discard(system_error(temp, "chmod failed"));
  }
  auto written = write_all(fd, content, temp);
  ::close(fd);
  if (!written) return discard(written.error());

  if (overwrite == Overwrite::replace) {
    if (::rename(temp.c_str(), file.c_str()) != 0) return discard(system_error(file, "rename failed"));
  } else {
    // link() fails when the name exists, so two writers cannot both win.
    if (::link(temp.c_str(), file.c_str()) != 0) {
      if (errno == EEXIST) return discard(file.string() + ": exists already");
      return discard(system_error(file, "cannot create"));
    }
    ::unlink(temp.c_str());
  }
  return sync_folder(folder);
}

core::Result<void, std::string> remove_file_durably(const std::filesystem::path& file) {
  if (::unlink(file.c_str()) != 0) {
    if (errno == ENOENT) return core::fail(file.string() + ": no such file");
    return core::fail(system_error(file, "cannot remove"));
  }
  std::filesystem::path folder = file.parent_path().empty() ? "." : file.parent_path();
  return sync_folder(folder);
}

core::Result<void, std::string> rename_durably(const std::filesystem::path& from,
                                               const std::filesystem::path& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return core::fail(system_error(to, "cannot rename " + from.string() + " to it"));
  }
  return sync_folder(to.parent_path().empty() ? "." : to.parent_path());
}

}  // namespace ucedge::core
