// How the C library's heap keeps memory that large bodies pass through.
//
// A request body or a streamed response's buffer of a few megabytes is
// allocated, filled and freed for every request. With glibc's defaults each
// such block comes from a fresh mmap (or the top of the heap is trimmed right
// after it is freed), so the next request faults every page in again: the
// bench's 1 MiB rows spent more CPU on page faults than on moving bytes.
// Blocks up to 4 MiB are taken from the heap instead, and up to 8 MiB of free
// memory at its top is kept for the next request rather than given back:
// 1 MiB responses 0.50x the server CPU, 1.94x the req/s (bench/ab.sh). What
// is kept is bounded (8 MiB), and larger blocks still come and go as
// mappings.
#pragma once

namespace fcgid::service {

// Applies the policy above, unless GLIBC_TUNABLES already sets malloc
// tunables (the operator's choice wins). Call once at start, before threads.
void apply_heap_policy() noexcept;

}  // namespace fcgid::service
