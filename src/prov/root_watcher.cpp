#include "prov/root_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace ucedge::prov {

namespace {

constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

RootWatcher::RootWatcher(std::filesystem::path root) : root_(std::move(root)) {}

RootWatcher::~RootWatcher() { stop(); }

core::Result<void> RootWatcher::start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return core::fail(std::string("inotify: ") + std::strerror(errno));
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return core::fail(std::string("eventfd: ") + std::strerror(errno));
  watch_tree(root_);
  if (directories_.empty()) return core::fail("cannot watch " + root_.string());
  active_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
  return {};
}

void RootWatcher::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  active_.store(false, std::memory_order_release);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void RootWatcher::watch_tree(const std::filesystem::path& dir) {
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) {
    core::logger("prov")->warn("cannot watch {} for changes: {}", dir.string(), std::strerror(errno));
    return;
  }
  directories_[wd] = dir;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec) && !it->is_symlink(type_ec)) watch_tree(it->path());
  }
}

void RootWatcher::run() {
  alignas(inotify_event) char buffer[16 * 1024];
  pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    bool changed = false;
    for (;;) {
      ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      changed = true;
      for (char* p = buffer; p < buffer + n;) {
        auto* event = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + event->len;
        if (event->mask & IN_Q_OVERFLOW) {
          // Events were lost: watch everything again (new directories may be unwatched).
          for (const auto& [wd, dir] : directories_) ::inotify_rm_watch(inotify_fd_, wd);
          directories_.clear();
          watch_tree(root_);
          continue;
        }
        if (event->mask & IN_IGNORED) {
          directories_.erase(event->wd);
          continue;
        }
        if ((event->mask & IN_ISDIR) && (event->mask & (IN_CREATE | IN_MOVED_TO)) && event->len > 0) {
          auto dir = directories_.find(event->wd);
          if (dir != directories_.end()) watch_tree(dir->second / event->name);
        }
      }
    }
    if (changed) generation_.fetch_add(1, std::memory_order_acq_rel);
  }
}

}  // namespace ucedge::prov
