// How many connections each --workers worker holds, in memory the master and
// its workers share, so that they split new connections evenly.
//
// Every worker accepts from the one listening socket, and the kernel wakes
// them all for a new connection: the first awake takes it. In a burst (a web
// server opening its keepalive pool) the first can take nearly all of them,
// and keeps them for as long as they live while the other workers idle. So
// each worker publishes its count here, and one that holds more than the
// least loaded of the others waits a moment before accepting again, giving
// that one a head start (server::do_accept). This evens out bursts; single
// connections arriving further apart still go to whichever worker wakes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace fcgid::net {

class worker_loads {
public:
    // Room for this many workers at once: --workers allows 1024, and a
    // rolling restart briefly runs one more. A worker that finds no room
    // accepts freely.
    static constexpr std::size_t max_workers = 1025;

    // Maps the shared table. Call in the master, before forking any worker.
    // Throws std::system_error when the mapping fails.
    static std::unique_ptr<worker_loads> create();
    ~worker_loads();
    worker_loads(const worker_loads&) = delete;
    worker_loads& operator=(const worker_loads&) = delete;

    // In a worker: takes a free entry for this process. False if none is free.
    bool join() noexcept;
    // In a worker: its current number of connections.
    void publish(std::size_t connections) noexcept;
    // In a worker that stops accepting (draining, exiting): its entry is
    // freed, so that no other worker waits for it to take connections.
    void leave() noexcept;
    // In a worker: true when it holds more connections than the least loaded
    // of the other workers that accept. Scans only the entries ever taken.
    bool ahead_of_least_loaded() const noexcept;
    // In the master: frees the entry of a worker that exited without leave()
    // (a crash, SIGKILL).
    void forget(pid_t pid) noexcept;

private:
    struct entry {
        std::atomic<pid_t> owner;  // 0: free
        std::atomic<std::uint32_t> connections;
    };
    static_assert(std::atomic<pid_t>::is_always_lock_free &&
                      std::atomic<std::uint32_t>::is_always_lock_free,
                  "shared between processes: the atomics must not hide a lock");

    struct table {
        // Entries [0, in_use) have ever been taken: the rest need no scan.
        std::atomic<std::uint32_t> in_use;
        entry entries[max_workers];
    };

    explicit worker_loads(table* shared) noexcept : table_(shared) {}

    table* table_;            // shared by the master and every worker
    entry* mine_ = nullptr;   // this process's entry, once joined
};

}  // namespace fcgid::net
