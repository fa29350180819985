#include "plugin/plugin_host.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "plugin/host_api.hpp"
#include "service/loop_sampler.hpp"

namespace fcgid::plugin {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

std::string abi_text(std::uint32_t version) {
    return fmt::format("{}.{}", FCGID_ABI_VERSION_MAJOR_OF(version), FCGID_ABI_VERSION_MINOR_OF(version));
}

// The descriptor as ABI 1.0 defines it ends with shutdown(): every 1.x
// plugin's struct_size covers it. Members appended later are read only when
// FCGID_PLUGIN_HAS(descriptor, member) says the plugin has them.
constexpr std::size_t abi_1_0_plugin_size = offsetof(fcgid_plugin, shutdown) + sizeof(fcgid_plugin::shutdown);


// An anonymous in-memory copy of `file` (memfd): nobody else can name,
// replace or race it, unlike a file in /tmp. Returns the descriptor; the
// caller loads /proc/self/fd/N and keeps it open while the library is
// loaded (see image_fd_).
int private_copy_of(const std::filesystem::path& file) {
    const int source = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (source < 0)
        fail(fmt::format("cannot read plugin [{}]: {}", file.string(), std::strerror(errno)));
    const int copy = ::memfd_create(file.filename().c_str(), MFD_CLOEXEC);
    bool ok = copy >= 0;
    char buffer[64 * 1024];
    while (ok) {
        const ssize_t n = ::read(source, buffer, sizeof buffer);
        if (n == 0) break;
        ok = n > 0 && ::write(copy, buffer, static_cast<std::size_t>(n)) == n;
    }
    const int saved_errno = errno;
    ::close(source);
    if (!ok) {
        if (copy >= 0) ::close(copy);
        fail(fmt::format("cannot copy plugin [{}] for loading: {}", file.string(),
                         std::strerror(saved_errno)));
    }
    return copy;
}

}  // namespace

plugin_host::plugin_host(const config::plugin_config& config) {
    // dlopen searches library paths for a bare "libapp.so", never the current
    // directory: an absolute path loads exactly the file the user named.
    std::error_code fs_ec;
    const std::filesystem::path file = std::filesystem::absolute(config.path, fs_ec);
    path_ = file.string();
    if (!std::filesystem::exists(file, fs_ec))
        fail(fmt::format("plugin file not found: [{}]", config.path));
    if (!std::filesystem::is_regular_file(file, fs_ec))
        fail(fmt::format("plugin [{}] is not a regular file", config.path));

    std::error_code ec;
    image_fd_.fd_ = private_copy_of(file);
    const std::string loaded_as = fmt::format("/proc/self/fd/{}", image_fd_.fd_);
    // Stall reports name the file, not the copy, for addr2line.
    service::loop_sampler::name_object(loaded_as, path_);
    library_.load(loaded_as,
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) {
        // The loader's own words ("invalid ELF header", "undefined symbol: x")
        // say far more than the generic error code Boost.DLL maps them to.
        const char* reason = ::dlerror();
        fail(fmt::format("cannot load plugin [{}]: {}", path_, reason ? reason : ec.message()));
    }
    if (!library_.has(FCGID_PLUGIN_ENTRY_NAME))
        fail(fmt::format("no entry point [{}] in [{}]", FCGID_PLUGIN_ENTRY_NAME, path_));

    auto& entry = library_.get<std::remove_pointer_t<fcgid_plugin_entry_fn>>(FCGID_PLUGIN_ENTRY_NAME);
    // Until the descriptor names it, the plugin logs under its file's name.
    table_.emplace(file.filename().string());
    try {
        descriptor_ = entry(FCGID_ABI_VERSION, table_->api());
    } catch (...) {
        fail(fmt::format("plugin [{}] threw from its entry point", path_));
    }
    if (descriptor_ == nullptr)
        fail(fmt::format("plugin [{}] refused this host (host ABI {})", path_, abi_text(FCGID_ABI_VERSION)));
    // Any minor of our major loads, older or newer (version.h): this host
    // reads no descriptor member past ABI 1.0 yet, and ignores newer ones.
    if (FCGID_ABI_VERSION_MAJOR_OF(descriptor_->abi_version) != FCGID_ABI_MAJOR)
        fail(fmt::format("plugin [{}] is built for ABI {} instead of {}", path_,
                         abi_text(descriptor_->abi_version), abi_text(FCGID_ABI_VERSION)));
    if (descriptor_->struct_size < abi_1_0_plugin_size)
        fail(fmt::format("plugin [{}] has a descriptor of {} bytes; ABI 1.0 needs at least {}", path_,
                         descriptor_->struct_size, abi_1_0_plugin_size));
    if (descriptor_->name == nullptr)
        fail(fmt::format("plugin [{}] has a descriptor without a name", path_));
    if (descriptor_->handle == nullptr)
        fail(fmt::format("plugin [{}] has a descriptor without a handle function", path_));
    name_ = descriptor_->name;
    version_ = descriptor_->version ? descriptor_->version : "";
    // Its own log lines carry its name from here (init may log), and keep it
    // whatever is loaded after it.
    table_->set_name(name_);

    // Options are borrowed by init(): build the C view over our own strings.
    std::vector<fcgid_option> options;
    options.reserve(config.options.size());
    for (const auto& [key, value] : config.options) options.push_back({key.c_str(), value.c_str()});

    if (descriptor_->init) {
        char error[512] = {};
        int rc = FCGID_EFAIL;
        try {
            rc = descriptor_->init(options.data(), options.size(), &state_, error, sizeof error);
        } catch (...) {
            std::snprintf(error, sizeof error, "init threw an exception");
        }
        if (rc != FCGID_OK) {
            error[sizeof error - 1] = '\0';
            fail(fmt::format("plugin {} init failed: {}", name_,
                             error[0] ? error : fmt::format("error {}", rc).c_str()));
        }
    }
    initialised_ = true;
}

plugin_host::~plugin_host() {
    shutdown();
    spdlog::debug("[{}] unloaded ({})", name_, path_);
}

plugin_host::image_fd::~image_fd() {
    if (fd_ >= 0) ::close(fd_);
}

int plugin_host::handle(fcgid_request* request, fcgid_response* response) noexcept {
    try {
        return descriptor_->handle(state_, request, response);
    } catch (...) {
        spdlog::error("[{}] handler threw an exception across the plugin ABI", name_);
        return FCGID_EFAIL;
    }
}

void plugin_host::shutdown() noexcept {
    if (initialised_) {
        initialised_ = false;
        try {
            if (descriptor_->shutdown != nullptr) descriptor_->shutdown(state_);
        } catch (...) {
            spdlog::error("[{}] shutdown threw an exception across the plugin ABI", name_);
        }
    }
    // No host call may follow shutdown(): its log slot is free for the next load.
    if (table_) table_->release();
}

}  // namespace fcgid::plugin
