#include "plugin/host_api.hpp"

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "net/request.hpp"
#include "service/plugin_call_mark.hpp"

namespace fcgid::plugin {
namespace {

using net::request;

boost::asio::io_context* loop_io = nullptr;
std::thread::id loop_thread;

bool on_loop_thread() noexcept { return std::this_thread::get_id() == loop_thread; }

// Runs `op` now; turns an allocation failure into a code, since nothing may
// throw across the ABI.
template <typename Op>
int guarded(Op&& op) noexcept {
    try {
        return op();
    } catch (const std::bad_alloc&) {
        return FCGID_ENOMEM;
    } catch (...) {
        return FCGID_EFAIL;
    }
}

// Hands `op` (which owns copies of its arguments) to the loop. The posted
// handler holds a reference, so the request outlives it even if the plugin
// finishes the response in a later call.
template <typename Op>
int post_to_loop(const fcgid_response* response, const char* what, Op&& op) noexcept {
    return guarded([&] {
        boost::asio::post(*loop_io, [self = request::from(response).shared_from_this(), what,
                                     op = std::forward<Op>(op)]() mutable {
            const int rc = guarded([&] { return op(*self); });
            // The caller got FCGID_OK long ago; a real failure must not vanish.
            if (rc < 0 && rc != FCGID_EABORTED)
                // No plugin name: only log() knows its caller (see host_table).
                spdlog::warn("{} from a plugin thread failed: error {}", what, rc);
        });
        return FCGID_OK;
    });
}

// Runs `now` on the loop thread; elsewhere posts the operation that
// `make_later()` builds (owning copies of its data) to the loop. The copies
// are made only off the loop: the usual call, from handle(), copies nothing.
template <typename Now, typename MakeLater>
int on_loop(fcgid_response* response, const char* what, Now&& now, MakeLater&& make_later) noexcept {
    if (response == nullptr) return FCGID_EINVAL;
    if (on_loop_thread()) return guarded([&] { return now(request::from(response)); });
    return guarded([&] { return post_to_loop(response, what, make_later()); });
}

std::string_view view(const void* data, size_t len) noexcept {
    return {static_cast<const char*>(data), len};
}

// A write: on the loop thread applied at once, with today's FCGID_FULL
// contract. From a plugin thread it is copied and posted like any call, and
// then the thread waits at the response's gate while the connection's
// output is over --max-output-buffer (see net/write_gate.hpp): otherwise a
// thread that writes faster than the web server reads would make the daemon
// buffer its whole output. Only plugin threads wait; the loop never does.
int write_bytes(fcgid_response* r, const char* what, const void* data, size_t len,
                fcgi::record_type type) noexcept {
    if (data == nullptr && len != 0) return FCGID_EINVAL;
    if (r == nullptr) return FCGID_EINVAL;
    if (len == 0) return FCGID_OK;
    const std::string_view bytes = view(data, len);
    request& q = request::from(r);
    if (on_loop_thread()) {
        return guarded([&] {
            return type == fcgi::record_type::stderr_ ? q.write_stderr(bytes) : q.write(bytes);
        });
    }
    // Keeps the gate alive while we wait: the posted write may run, and the
    // plugin may end its hold on another thread, before we wake.
    const std::shared_ptr<request> self = q.weak_from_this().lock();
    if (!self) return FCGID_EABORTED;
    q.gate().posted(len);
    const int rc = guarded([&] {
        return post_to_loop(r, what, [copy = std::string(bytes), type](request& target) {
            return target.apply_posted_write(copy, type);
        });
    });
    if (rc != FCGID_OK) {
        q.gate().unposted(len);
        return rc;
    }
    q.gate().wait();
    return q.aborted() ? FCGID_EABORTED : FCGID_OK;
}

// ---- log: one trampoline per slot of the host_table pool -------------------------

// The names in front of plugin log lines. A slot's name is read from any
// thread and replaced on the loop: each name is an immutable string kept for
// the life of the process (interned, so reloading the same plugin adds
// nothing; a deque never moves its elements) and published through an
// atomic pointer, so a plugin thread never reads a string being freed.
std::deque<std::string> interned_names;

const std::string* intern(std::string_view name) {
    for (const std::string& known : interned_names)
        if (known == name) return &known;
    return &interned_names.emplace_back(name);
}

struct log_slot {
    std::atomic<const std::string*> name{nullptr};
    bool taken = false;  // loop thread only
};
std::array<log_slot, host_table::max_loaded_plugins> log_slots;

void write_log(const std::string& name, int level, const char* msg, size_t len) noexcept {
    if (msg == nullptr) return;
    spdlog::level::level_enum spd = spdlog::level::info;
    switch (level) {
        case FCGID_LOG_TRACE: spd = spdlog::level::trace; break;
        case FCGID_LOG_DEBUG: spd = spdlog::level::debug; break;
        case FCGID_LOG_INFO: spd = spdlog::level::info; break;
        case FCGID_LOG_WARN: spd = spdlog::level::warn; break;
        default: spd = spdlog::level::err; break;
    }
    try {
        spdlog::log(spd, "[{}] {}", name, view(msg, len));
    } catch (...) {
        // Logging must never take the process down.
    }
}

template <std::size_t Slot>
void slot_log(int level, const char* msg, size_t len) noexcept {
    write_log(*log_slots[Slot].name.load(std::memory_order_acquire), level, msg, len);
}

using log_fn = decltype(fcgid_host_api::log);

template <std::size_t... Slot>
constexpr std::array<log_fn, sizeof...(Slot)> make_slot_logs(std::index_sequence<Slot...>) {
    return {&slot_log<Slot>...};
}
constexpr auto slot_logs = make_slot_logs(std::make_index_sequence<host_table::max_loaded_plugins>{});

// ---- The other functions of the table ----------------------------------------------

int host_request_role(const fcgid_request* r) noexcept {
    return r == nullptr ? FCGID_EINVAL : FCGID_ROLE_RESPONDER;
}

int host_request_param(const fcgid_request* r, const char* name, size_t name_len,
                       const char** value, size_t* value_len) noexcept {
    if (r == nullptr || name == nullptr || value == nullptr || value_len == nullptr)
        return FCGID_EINVAL;
    std::string_view found;
    if (!request::from(r).find_param(view(name, name_len), found)) return FCGID_ENOTFOUND;
    *value = found.data();
    *value_len = found.size();
    return FCGID_OK;
}

size_t host_request_param_count(const fcgid_request* r) noexcept {
    return r == nullptr ? 0 : request::from(r).param_count();
}

int host_request_param_at(const fcgid_request* r, size_t index, const char** name,
                          size_t* name_len, const char** value, size_t* value_len) noexcept {
    if (r == nullptr || name == nullptr || name_len == nullptr || value == nullptr ||
        value_len == nullptr)
        return FCGID_EINVAL;
    std::string_view n;
    std::string_view v;
    if (!request::from(r).param_at(index, n, v)) return FCGID_ENOTFOUND;
    *name = n.data();
    *name_len = n.size();
    *value = v.data();
    *value_len = v.size();
    return FCGID_OK;
}

int host_request_body(const fcgid_request* r, const void** data, size_t* len) noexcept {
    if (r == nullptr || data == nullptr || len == nullptr) return FCGID_EINVAL;
    const std::string_view body = request::from(r).body();
    *data = body.data();
    *len = body.size();
    return FCGID_OK;
}

int host_response_set_status(fcgid_response* r, int status) noexcept {
    return on_loop(
        r, "response_set_status", [&](request& q) { return q.set_status(status); },
        [&] { return [status](request& q) { return q.set_status(status); }; });
}

int host_response_add_header(fcgid_response* r, const char* name, size_t name_len,
                             const char* value, size_t value_len) noexcept {
    if (name == nullptr || (value == nullptr && value_len != 0)) return FCGID_EINVAL;
    const std::string_view n = view(name, name_len);
    const std::string_view v = value ? view(value, value_len) : std::string_view();
    return on_loop(
        r, "response_add_header", [&](request& q) { return q.add_header(n, v); },
        [&] {
            return [n = std::string(n), v = std::string(v)](request& q) { return q.add_header(n, v); };
        });
}

int host_response_write(fcgid_response* r, const void* data, size_t len) noexcept {
    return write_bytes(r, "response_write", data, len, fcgi::record_type::stdout_);
}

int host_response_write_stderr(fcgid_response* r, const void* data, size_t len) noexcept {
    return write_bytes(r, "response_write_stderr", data, len, fcgi::record_type::stderr_);
}

int host_response_finish(fcgid_response* r) noexcept {
    const auto op = [](request& q) { return q.finish(); };
    return on_loop(r, "response_finish", op, [&] { return op; });
}

int host_response_fail(fcgid_response* r, const char* reason, size_t reason_len) noexcept {
    const std::string_view text = reason ? view(reason, reason_len) : std::string_view();
    return on_loop(
        r, "response_fail", [&](request& q) { return q.fail(text); },
        [&] { return [copy = std::string(text)](request& q) { return q.fail(copy); }; });
}

int host_response_release(fcgid_response* r) noexcept {
    const auto op = [](request& q) { return q.release(); };
    return on_loop(r, "response_release", op, [&] { return op; });
}

int host_response_on_abort(fcgid_response* r, fcgid_abort_callback callback,
                           void* user_data) noexcept {
    if (r == nullptr) return FCGID_EINVAL;
    // The callback is called on the loop thread; registering it elsewhere
    // would race with the abort it is meant to catch.
    if (!on_loop_thread()) return FCGID_ESTATE;
    return request::from(r).set_abort_callback(callback, user_data);
}

int host_response_is_aborted(const fcgid_response* r) noexcept {
    return r != nullptr && request::from(r).aborted() ? 1 : 0;
}

int host_response_on_writable(fcgid_response* r, fcgid_writable_callback callback,
                              void* user_data) noexcept {
    if (r == nullptr) return FCGID_EINVAL;
    if (!on_loop_thread()) return FCGID_ESTATE;
    return guarded([&] { return request::from(r).set_writable_callback(callback, user_data); });
}

int host_call_on_loop(fcgid_loop_task task, void* user_data) noexcept {
    if (task == nullptr) return FCGID_EINVAL;
    return guarded([&] {
        boost::asio::post(*loop_io, [task, user_data] {
            const service::plugin_call in_plugin(service::plugin_callback::loop_task, nullptr);
            task(user_data);
        });
        return FCGID_OK;
    });
}

// Every plugin's table starts as this one (log is set per slot). Designated
// initialisers, which C++20 requires in declaration order: a function put
// in the wrong member reads wrong by name, and members out of order do not
// compile. The static_assert below catches a member appended to plugin.h
// but not filled in here.
constexpr fcgid_host_api shared_table = {
    .struct_size = sizeof(fcgid_host_api),
    .abi_version = FCGID_ABI_VERSION,
    .log = nullptr,
    .request_role = host_request_role,
    .request_param = host_request_param,
    .request_param_count = host_request_param_count,
    .request_param_at = host_request_param_at,
    .request_body = host_request_body,
    .response_set_status = host_response_set_status,
    .response_add_header = host_response_add_header,
    .response_write = host_response_write,
    .response_write_stderr = host_response_write_stderr,
    .response_finish = host_response_finish,
    .response_fail = host_response_fail,
    .response_release = host_response_release,
    .response_on_abort = host_response_on_abort,
    .response_is_aborted = host_response_is_aborted,
    .response_on_writable = host_response_on_writable,
    .call_on_loop = host_call_on_loop,
};
// The last member: a member appended to plugin.h must be filled in above
// (and this check moved to it), never left NULL by accident.
static_assert(offsetof(fcgid_host_api, call_on_loop) + sizeof(fcgid_host_api::call_on_loop) ==
                  sizeof(fcgid_host_api),
              "plugin.h gained a host function: fill it in shared_table");

std::size_t take_free_slot() {
    for (std::size_t i = 0; i < log_slots.size(); ++i) {
        if (!log_slots[i].taken) {
            log_slots[i].taken = true;
            return i;
        }
    }
    throw std::runtime_error(fmt::format(
        "too many plugin instances loaded at once ({}): older ones still hold requests in flight",
        host_table::max_loaded_plugins));
}

}  // namespace

void bind_loop(boost::asio::io_context& io) {
    loop_io = &io;
    loop_thread = std::this_thread::get_id();
}

host_table::host_table(std::string_view name) : api_(shared_table), slot_(take_free_slot()) {
    try {
        set_name(name);
    } catch (...) {
        release();
        throw;
    }
    api_.log = slot_logs[slot_];
}

host_table::~host_table() { release(); }

void host_table::set_name(std::string_view name) {
    log_slots[slot_].name.store(intern(name), std::memory_order_release);
}

void host_table::release() noexcept {
    if (!held_) return;
    held_ = false;
    // The name stays published: a plugin that breaks the ABI and logs after
    // its shutdown() reads a valid string (a later plugin's, once reused).
    log_slots[slot_].taken = false;
}

}  // namespace fcgid::plugin
