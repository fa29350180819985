// Loads a plugin with Boost.DLL, checks it, initialises it and calls it.
//
// The shared_library comes before everything taken from it, so it is
// destroyed after them: nothing taken from the library (descriptor,
// function pointers, the plugin's state) outlives it. Teardown order: the
// plugin's shutdown(), then unload.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/dll/shared_library.hpp>

#include "config/server_config.hpp"
#include "fcgid/plugin.h"
#include "plugin/host_api.hpp"

namespace fcgid::plugin {

class plugin_host {
public:
    // Loads and initialises the plugin. Throws std::runtime_error with one
    // line naming the problem: missing file, no entry point, ABI mismatch,
    // refused host, a descriptor too small or incomplete, init failure with
    // the plugin's own reason (tests/unit/plugin/plugin_host_test.cpp pins
    // each text).
    // bind_loop() must have been called first.
    //
    // The file is first copied into an anonymous memory file (memfd) and
    // loaded from there. Two reasons: the dynamic loader
    // hands out an already-loaded library again for the same path, so a
    // reload would get the old code back; and a user who replaces the file in
    // place (cp new.so app.so) would otherwise rewrite the pages of the code
    // that is running, and crash it.
    explicit plugin_host(const config::plugin_config& config);
    ~plugin_host();

    plugin_host(const plugin_host&) = delete;
    plugin_host& operator=(const plugin_host&) = delete;

    // Calls the plugin's handle(); an exception that escapes it anyway
    // becomes FCGID_EFAIL here rather than ending the process.
    int handle(fcgid_request* request, fcgid_response* response) noexcept;

    // Calls the plugin's shutdown() once, then gives back its host table's
    // log slot (host_table); later calls do nothing.
    void shutdown() noexcept;

    const std::string& name() const noexcept { return name_; }
    const std::string& version() const noexcept { return version_; }
    const std::string& path() const noexcept { return path_; }

private:
    // The memfd the library was loaded from, open as long as the library is
    // loaded. The loader matches libraries by path before it opens anything:
    // had we closed it, the next load would get the same /proc/self/fd/N
    // path and dlopen would hand back THIS library instead of the new file
    // (a reload serving the old code). Declared first: closed after unload.
    struct image_fd {
        int fd_ = -1;
        ~image_fd();
    } image_fd_;
    boost::dll::shared_library library_;
    // This plugin's own host table (its log lines carry its name); taken
    // just before the entry point is called.
    std::optional<host_table> table_;
    std::string path_;
    std::string name_;
    std::string version_;
    const fcgid_plugin* descriptor_ = nullptr;
    void* state_ = nullptr;
    bool initialised_ = false;
};

}  // namespace fcgid::plugin
