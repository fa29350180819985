#include "delay_timer.hpp"

#include <string_view>
#include <utility>

#include "echo_response.hpp"
#include "fcgid/plugin.hpp"

namespace fcgid::echo {

void delay_timer::start() {
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void delay_timer::stop() noexcept {
    if (!thread_.joinable()) {
        return;
    }
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    // The thread is gone: what is left is ours alone, no lock needed.
    for (auto& [response, entry] : pending_) {
        host_->response_release(response);
    }
    pending_.clear();
    deadlines_ = {};
}

int delay_timer::schedule(std::chrono::milliseconds delay, delayed_echo echo) {
    fcgid_response* const response = echo.response;
    // Register first: once the entry is queued the timer thread may finish
    // the response, and we must not call the host on it concurrently.
    // No abort can slip in between: it would be delivered on this thread.
    if (const int rc = host_->response_on_abort(response, &delay_timer::on_abort, this);
        rc != FCGID_OK) {
        return rc; // FCGID_EABORTED: aborted already
    }
    std::unique_lock lock(mutex_);
    try {
        const std::uint64_t seq = next_seq_++;
        const auto it = pending_.insert_or_assign(response, pending{seq, std::move(echo)}).first;
        try {
            deadlines_.push(deadline{clock::now() + delay, seq, response});
        } catch (...) {
            pending_.erase(it);
            throw;
        }
    } catch (...) {
        lock.unlock();
        host_->response_on_abort(response, nullptr, nullptr);
        throw;
    }
    lock.unlock();
    wake_.notify_one();
    return FCGID_DEFERRED;
}

void delay_timer::on_abort(void* user_data, fcgid_response* response) noexcept {
    auto* self = static_cast<delay_timer*>(user_data);
    bool claimed = false;
    {
        const std::lock_guard lock(self->mutex_);
        claimed = self->pending_.erase(response) > 0;
    }
    if (claimed) {
        self->host_->response_release(response);
    }
    // Not claimed: the timer thread already took it and will finish it.
}

void delay_timer::run() noexcept {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (deadlines_.empty()) {
            wake_.wait(lock);
            continue;
        }
        const deadline next = deadlines_.top();
        if (clock::now() < next.when) {
            wake_.wait_until(lock, next.when);
            continue; // re-check: woken early, stopped, or an earlier deadline
        }
        deadlines_.pop();
        const auto it = pending_.find(next.response);
        if (it == pending_.end() || it->second.seq != next.seq) {
            continue; // released after an abort
        }
        delayed_echo echo = std::move(it->second.echo);
        pending_.erase(it); // from here on, this response is ours alone
        lock.unlock();
        complete(echo);
        lock.lock();
    }
}

void delay_timer::complete(delayed_echo& echo) noexcept {
    // A hint only; if the abort lands after this check, the writes below fail
    // harmlessly and the finish still just releases the handle.
    if (host_->response_is_aborted(echo.response) != 0) {
        host_->response_release(echo.response);
        return;
    }
    const int rc = fcgid::guard(host_, [&] {
        return write_echo_response(host_, echo.request, echo.response, echo.query);
    });
    if (rc == FCGID_OK) {
        host_->response_finish(echo.response);
        return;
    }
    if (rc == FCGID_EABORTED) {
        // Aborted while writing (write_pattern's check): give the handle back.
        host_->response_release(echo.response);
        return;
    }
    const std::string_view reason = echo.query.fail ? "echo: fail=1 requested"
                                                    : "echo: delayed response failed";
    host_->response_fail(echo.response, reason.data(), reason.size());
}

} // namespace fcgid::echo
