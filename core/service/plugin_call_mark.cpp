#include "service/plugin_call_mark.hpp"

namespace fcgid::service {

const char* callback_text(plugin_callback callback) noexcept {
    switch (callback) {
        case plugin_callback::handle: return "handle()";
        case plugin_callback::abort: return "its abort callback";
        case plugin_callback::writable: return "its writable callback";
        case plugin_callback::loop_task: return "a task it queued with call_on_loop";
        case plugin_callback::none: break;
    }
    return "no callback";
}

}  // namespace fcgid::service
