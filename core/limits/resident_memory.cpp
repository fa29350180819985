#include "limits/resident_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

namespace fcgid::limits {

resident_memory::resident_memory()
    : fd_(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC)),
      page_size_(static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))) {}

resident_memory::resident_memory(pid_t pid) noexcept
    : page_size_(static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))) {
    char path[48];
    std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
    fd_ = ::open(path, O_RDONLY | O_CLOEXEC);
}

resident_memory::~resident_memory() {
    if (fd_ >= 0) ::close(fd_);
}

std::uint64_t resident_memory::read() const noexcept {
    if (fd_ < 0) return 0;
    // "size resident shared text lib data dt", in pages.
    char text[128];
    const ssize_t n = ::pread(fd_, text, sizeof text - 1, 0);
    if (n <= 0) return 0;
    const char* p = text;
    const char* end = text + n;
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    auto r = std::from_chars(p, end, size);
    if (r.ec != std::errc() || r.ptr == end) return 0;
    r = std::from_chars(r.ptr + 1, end, resident);
    if (r.ec != std::errc()) return 0;
    return resident * page_size_;
}

}  // namespace fcgid::limits
