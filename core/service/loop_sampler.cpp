#include "service/loop_sampler.hpp"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>

#include <boost/core/demangle.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

namespace fcgid::service {
namespace {

describe_request_fn describe_ = nullptr;
pthread_t loop_thread_{};
bool installed_ = false;
// A handler that claimed a request but never answered (a thread stopped in
// the middle of it) may still write the sample: no further one is asked for.
bool gave_up_ = false;
sem_t answered_;
// The `edges` value the asker wants a sample of; 0: none. The handler claims
// it with an exchange, so a late signal, or one not sent by us, writes nothing.
std::atomic<std::uint64_t> wanted_{0};
loop_sample handler_sample_;

void copy_text(std::string_view from, char* to, std::size_t room, std::size_t& length) noexcept {
    length = std::min(from.size(), room);
    std::memcpy(to, from.data(), length);
}

// Where the loop thread was interrupted, to drop the frames of the handler
// and of the kernel's signal trampoline from the top of the stack.
const void* interrupted_at(const void* context) noexcept {
    const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
    return reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return reinterpret_cast<const void*>(uc->uc_mcontext.pc);
#else
    (void)uc;
    return nullptr;
#endif
}

void on_sample_signal(int, siginfo_t*, void* context) {
    const int saved_errno = errno;
    const std::uint64_t wanted = wanted_.exchange(0, std::memory_order_acq_rel);
    if (wanted == 0) {
        errno = saved_errno;
        return;
    }
    loop_sample& s = handler_sample_;
    s.in_that_call = plugin_call_state::edges.load(std::memory_order_relaxed) == wanted;
    s.callback = plugin_callback::none;
    s.has_request = false;
    s.frame_count = 0;
    if (s.in_that_call) {
        s.callback = plugin_call_state::callback.load(std::memory_order_relaxed);
        const void* request = plugin_call_state::request.load(std::memory_order_relaxed);
        request_description what;
        if (request != nullptr && describe_ != nullptr && describe_(request, what)) {
            s.has_request = true;
            s.request_id = what.id;
            copy_text(what.method, s.method, sizeof s.method, s.method_length);
            copy_text(what.uri, s.uri, sizeof s.uri, s.uri_length);
        }
        void* frames[loop_sample::max_frames + 8];
        const int count = ::backtrace(frames, static_cast<int>(std::size(frames)));
        const void* pc = interrupted_at(context);
        int first = 0;
        for (int i = 0; i < count && pc != nullptr; ++i) {
            if (frames[i] == pc) {
                first = i;
                break;
            }
        }
        s.frame_count = std::min<std::size_t>(static_cast<std::size_t>(count - first), loop_sample::max_frames);
        std::memcpy(s.frames, frames + first, s.frame_count * sizeof(void*));
    }
    ::sem_post(&answered_);
    errno = saved_errno;
}

bool wait_for_answer(std::chrono::milliseconds wait) noexcept {
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const auto ns = deadline.tv_nsec + std::chrono::nanoseconds(wait).count();
    deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    while (::sem_clockwait(&answered_, CLOCK_MONOTONIC, &deadline) != 0)
        if (errno != EINTR) return false;
    return true;
}

std::mutex object_names_mutex;
std::map<std::string, std::string> object_names;  // loaded as -> shown as

std::string shown_name(const std::string& loaded_as) {
    const std::lock_guard lock(object_names_mutex);
    const auto it = object_names.find(loaded_as);
    return it == object_names.end() ? loaded_as : it->second;
}

// The main program's path, where dladdr() gives argv[0] or nothing.
std::string own_executable() {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string("fcgid");
}

}  // namespace

int loop_sampler::signal_number() noexcept { return SIGRTMIN + 6; }

bool loop_sampler::install(describe_request_fn describe) noexcept {
    if (installed_) return true;
    describe_ = describe;
    loop_thread_ = ::pthread_self();
    if (::sem_init(&answered_, 0, 0) != 0) {
        spdlog::error("stall watchdog: sem_init: {}; stall reports will have no stack", std::strerror(errno));
        return false;
    }
    // The first backtrace() loads libgcc_s with dlopen: not in a signal handler.
    void* warm_up[4];
    (void)::backtrace(warm_up, 4);
    struct sigaction action {};
    action.sa_sigaction = on_sample_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (::sigaction(signal_number(), &action, nullptr) != 0) {
        spdlog::error("stall watchdog: sigaction: {}; stall reports will have no stack", std::strerror(errno));
        return false;
    }
    installed_ = true;
    return true;
}

bool loop_sampler::sample(std::uint64_t edges, loop_sample& out, std::chrono::milliseconds wait) {
    if (!installed_ || gave_up_ || edges == 0) return false;
    wanted_.store(edges, std::memory_order_release);
    if (::pthread_kill(loop_thread_, signal_number()) != 0) {
        wanted_.store(0, std::memory_order_relaxed);
        return false;
    }
    if (!wait_for_answer(wait)) {
        // Not claimed: the handler will never write. Claimed: it is writing
        // now, and a handler is quick once it runs.
        if (wanted_.exchange(0, std::memory_order_acq_rel) != 0) return false;
        if (!wait_for_answer(std::chrono::seconds(1))) {
            gave_up_ = true;
            return false;
        }
    }
    out = handler_sample_;
    return true;
}

std::vector<std::string> loop_sampler::symbolise(const loop_sample& sample) {
    std::vector<std::string> lines;
    lines.reserve(sample.frame_count);
    for (std::size_t i = 0; i < sample.frame_count; ++i) {
        const auto address = reinterpret_cast<std::uintptr_t>(sample.frames[i]);
        Dl_info info{};
        if (::dladdr(sample.frames[i], &info) == 0) {
            lines.push_back(fmt::format("#{} ?? (0x{:x})", i, address));
            continue;
        }
        const std::string file = info.dli_fname != nullptr && info.dli_fname[0] == '/'
                                     ? shown_name(info.dli_fname)
                                     : own_executable();
        const auto offset = address - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
        if (info.dli_sname != nullptr && info.dli_saddr != nullptr)
            lines.push_back(fmt::format("#{} {}+0x{:x} ({}+0x{:x})", i, boost::core::demangle(info.dli_sname),
                                        address - reinterpret_cast<std::uintptr_t>(info.dli_saddr), file,
                                        offset));
        else
            lines.push_back(fmt::format("#{} ?? ({}+0x{:x})", i, file, offset));
    }
    return lines;
}

void loop_sampler::name_object(const std::string& loaded_as, const std::string& file) {
    const std::lock_guard lock(object_names_mutex);
    object_names[loaded_as] = file;
}

}  // namespace fcgid::service
