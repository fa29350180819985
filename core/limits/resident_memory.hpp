// Reads the process's resident memory (RSS), the figure --memory-limit is
// compared with. Linux only: /proc/self/statm.
#pragma once

#include <cstdint>

namespace fcgid::limits {

class resident_memory {
public:
    // Opens /proc/self/statm once; each read() is then a single pread, cheap
    // enough to run after every request.
    resident_memory();
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
