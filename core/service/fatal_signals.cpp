#include "service/fatal_signals.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "service/crash_reports.hpp"
#include "service/plugin_call_mark.hpp"

namespace fcgid::service {
namespace {

constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

describe_request_fn describe_ = nullptr;
crash_reports* reports_ = nullptr;
pid_t loop_thread_ = 0;
struct sigaction previous_[NSIG];

pid_t current_thread() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// A line assembled without allocating, for write(2).
class line_buffer {
public:
    void add(std::string_view text) noexcept {
        const std::size_t n = std::min(text.size(), sizeof buffer_ - size_);
        std::memcpy(buffer_ + size_, text.data(), n);
        size_ += n;
    }
    void add(unsigned long long value) noexcept {
        char digits[20];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        while (n > 0 && size_ < sizeof buffer_) buffer_[size_++] = digits[--n];
    }
    void write_to(int fd) const noexcept {
        const ssize_t ignored = ::write(fd, buffer_, size_);
        (void)ignored;
    }

private:
    char buffer_[512];
    std::size_t size_ = 0;
};

// Without --workers the process ends here: say which request ended it.
void write_crash_line(int signal_number, const request_description* request) noexcept {
    line_buffer line;
    line.add("fcgid: fatal: ");
    const char* name = ::sigabbrev_np(signal_number);
    line.add("SIG");
    line.add(name != nullptr ? std::string_view(name) : std::string_view("?"));
    if (request != nullptr) {
        line.add(" while the plugin handled ");
        line.add(request->method);
        line.add(" ");
        line.add(request->uri.substr(0, crash_reports::uri_room));
        line.add(" (request id ");
        line.add(static_cast<unsigned long long>(request->id));
        line.add(")");
    } else {
        line.add(" outside a request's handle()");
    }
    line.add("\n");
    line.write_to(STDERR_FILENO);
}

void on_fatal_signal(int signal_number, siginfo_t* info, void*) {
    const int saved_errno = errno;
    request_description request;
    // Only handle() names its request: a crash in a callback is not the
    // request's doing as surely, and must not count towards its quarantine.
    const void* in_plugin =
        plugin_call_state::callback.load(std::memory_order_relaxed) == plugin_callback::handle
            ? plugin_call_state::request.load(std::memory_order_relaxed)
            : nullptr;
    const bool named = in_plugin != nullptr && current_thread() == loop_thread_ &&
                       describe_(in_plugin, request);
    if (reports_ != nullptr) {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        reports_->record(::getpid(), signal_number, named ? &request : nullptr,
                         std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec));
    } else {
        write_crash_line(signal_number, named ? &request : nullptr);
    }
    // Die as before: give the signal back to the previous handler. A fault
    // raised by an instruction happens again when this returns; one that was
    // sent (kill, raise, abort) is sent again, and waits until this returns.
    ::sigaction(signal_number, &previous_[signal_number], nullptr);
    if (info == nullptr || info->si_code <= 0) ::raise(signal_number);
    errno = saved_errno;
}

}  // namespace

void install_fatal_signal_handlers(describe_request_fn describe, crash_reports* reports) noexcept {
    describe_ = describe;
    reports_ = reports;
    loop_thread_ = current_thread();
    // A stack overflow in a plugin needs another stack to run the handler
    // on. Unless one is set up already (sanitizers set up their own).
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
        static char alternate_stack[64 * 1024];
        stack_t ours{};
        ours.ss_sp = alternate_stack;
        ours.ss_size = sizeof alternate_stack;
        ::sigaltstack(&ours, nullptr);
    }
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (const int signal_number : fatal_signals)
        ::sigaction(signal_number, &action, &previous_[signal_number]);
}

}  // namespace fcgid::service
