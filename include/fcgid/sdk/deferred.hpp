// fcgid/sdk/deferred.hpp: a response finished later, from any thread.
//
//     void slow(sdk::request& req, sdk::response& res) {
//         auto later = sdk::defer(req, res, [] { /* the client went away */ });
//         std::thread([later = std::move(later)]() mutable {
//             later.res().send(compute());   // any thread
//         }).detach();
//     }
//
// defer() takes the request and the response over (the handler's objects
// are left empty) and the handler returns at once: fcgid goes on serving.
// The handle is movable and finishes from any thread; the request's views
// stay valid until it does.
//
// DROPPED. A deferred destroyed without its response finished answers 500
// and logs one line naming the request; if the client had gone away it just
// gives the handle back. A request never hangs because a handle was lost.
//
// ABORT. The callable given to defer() runs on the loop thread, at most once,
// when the web server aborts the request or its connection closes. The
// response stays valid: its owner still finishes or drops it (writes then
// return false at once, and aborted() is true).
#ifndef FCGID_SDK_DEFERRED_HPP
#define FCGID_SDK_DEFERRED_HPP

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "fcgid/sdk/errors.hpp"
#include "fcgid/sdk/host.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"

namespace fcgid::sdk {

namespace detail {
// The loop thread, recorded by FCGID_APP's init.
inline std::thread::id loop_thread;
inline bool on_loop_thread() noexcept { return std::this_thread::get_id() == loop_thread; }
}  // namespace detail

class deferred {
public:
    deferred() = default;
    deferred(request&& req, response&& res, std::function<void()> on_abort)
        : state_(new state{std::move(req), std::move(res), std::move(on_abort)}) {
        if (state_->on_abort) {
            // Loop thread only (handle() runs there); the callback may run
            // until the response's end takes effect on the loop, so the
            // state is freed only then (see dispose).
            if (host().response_on_abort(state_->res.handle(), &deferred::aborted_trampoline, state_) == FCGID_OK)
                state_->abort_registered = true;
        }
    }
    deferred(deferred&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    deferred& operator=(deferred&& other) noexcept {
        if (this != &other) {
            end();
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }
    deferred(const deferred&) = delete;
    deferred& operator=(const deferred&) = delete;
    ~deferred() { end(); }

    explicit operator bool() const noexcept { return state_ != nullptr; }
    request& req() noexcept { return state_->req; }
    response& res() noexcept { return state_->res; }
    bool aborted() const noexcept { return state_->res.aborted(); }

private:
    struct state {
        request req;
        response res;
        std::function<void()> on_abort;
        bool abort_registered = false;
        bool in_abort_callback = false;
    };

    static void aborted_trampoline(void* user_data, fcgid_response*) {
        auto* s = static_cast<state*>(user_data);
        s->in_abort_callback = true;
        try {
            s->on_abort();
        } catch (...) {
            log(log_level::error, detail::request_line(s->req) + ": the abort callback threw; ignored");
        }
        s->in_abort_callback = false;
    }

    // Ends the response if its owner did not, then frees the state.
    void end() noexcept {
        if (state_ == nullptr) return;
        state* s = std::exchange(state_, nullptr);
        if (!s->res.finished()) {
            if (s->res.aborted()) {
                s->res.release();
            } else {
                try {
                    log(log_level::error, detail::request_line(s->req) +
                                              ": deferred response dropped without finishing: answering 500");
                } catch (...) {
                }
                s->res.fail("deferred response dropped without finishing");
            }
        }
        dispose(s);
    }

    static void dispose(state* s) noexcept {
        // Off the loop, the end just posted may not have taken effect yet,
        // and the abort callback may be running: free the state on the loop,
        // after both (call_on_loop runs after this thread's earlier calls).
        if (s->abort_registered && (!detail::on_loop_thread() || s->in_abort_callback)) {
            if (host().call_on_loop([](void* p) { delete static_cast<state*>(p); }, s) == FCGID_OK) return;
        }
        delete s;
    }

    state* state_ = nullptr;
};

// Takes `req` and `res` over; the handler returns, and the response is
// finished later through the handle. `on_abort` (optional) runs on the loop
// thread if the web server aborts the request. Call on the loop thread
// (inside a handler).
inline deferred defer(request& req, response& res, std::function<void()> on_abort = {}) {
    return deferred(std::move(req), std::move(res), std::move(on_abort));
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_DEFERRED_HPP
