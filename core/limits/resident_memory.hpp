// Reads a process's resident memory (RSS): this process's, the figure
// --memory-limit is compared with, or another's for the status page.
// Linux only: /proc/PID/statm.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace fcgid::limits {

class resident_memory {
public:
    // Opens /proc/self/statm (or /proc/PID/statm) once; each read() is then
    // a single pread, cheap enough to run after every request.
    resident_memory();
    explicit resident_memory(pid_t pid) noexcept;
    ~resident_memory();
    resident_memory(const resident_memory&) = delete;
    resident_memory& operator=(const resident_memory&) = delete;

    // Resident bytes now, or 0 if they cannot be read.
    std::uint64_t read() const noexcept;

private:
    int fd_ = -1;
    std::uint64_t page_size_ = 4096;
};

}  // namespace fcgid::limits
