#include "service/heap_policy.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace fcgid::service {

void apply_heap_policy() noexcept {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
    ::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
}

}  // namespace fcgid::service
