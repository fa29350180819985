#include "plugin/plugin_host.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "plugin/host_api.hpp"

namespace fcgid::plugin {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

std::string abi_text(std::uint32_t version) {
    return fmt::format("{}.{}", FCGID_ABI_VERSION_MAJOR_OF(version), FCGID_ABI_VERSION_MINOR_OF(version));
}

// The descriptor as ABI 1.0 defines it ends with shutdown().
constexpr std::size_t abi_1_0_plugin_size = offsetof(fcgid_plugin, shutdown) + sizeof(void*);


// Copies `file` to a new name in the temporary directory; the caller unlinks it.
std::filesystem::path private_copy_of(const std::filesystem::path& file) {
    static unsigned counter = 0;
    std::error_code ec;
    const auto copy = std::filesystem::temp_directory_path(ec) /
                      fmt::format("fcgid-{}-{}-{}", ::getpid(), ++counter, file.filename().string());
    if (ec || !std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing, ec))
        fail(fmt::format("cannot copy plugin [{}] for loading: {}", file.string(), ec.message()));
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
    const std::filesystem::path load_from = private_copy_of(file);
    library_.load(load_from, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    // Once mapped, the copy's name is no longer needed.
    std::filesystem::remove(load_from, fs_ec);
    if (ec) {
        // The loader's own words ("invalid ELF header", "undefined symbol: x")
        // say far more than the generic error code Boost.DLL maps them to.
        const char* reason = ::dlerror();
        fail(fmt::format("cannot load plugin [{}]: {}", path_, reason ? reason : ec.message()));
    }
    if (!library_.has(FCGID_PLUGIN_ENTRY_NAME))
        fail(fmt::format("no entry point [{}] in [{}]", FCGID_PLUGIN_ENTRY_NAME, path_));

    auto& entry = library_.get<std::remove_pointer_t<fcgid_plugin_entry_fn>>(FCGID_PLUGIN_ENTRY_NAME);
    try {
        descriptor_ = entry(FCGID_ABI_VERSION, host_api_table());
    } catch (...) {
        fail(fmt::format("plugin [{}] threw from its entry point", path_));
    }
    if (descriptor_ == nullptr)
        fail(fmt::format("plugin [{}] refused this host (host ABI {})", path_, abi_text(FCGID_ABI_VERSION)));
    if (FCGID_ABI_VERSION_MAJOR_OF(descriptor_->abi_version) != FCGID_ABI_MAJOR)
        fail(fmt::format("plugin [{}] is built for ABI {} instead of {}", path_,
                         abi_text(descriptor_->abi_version), abi_text(FCGID_ABI_VERSION)));
    if (descriptor_->struct_size < abi_1_0_plugin_size || descriptor_->name == nullptr ||
        descriptor_->handle == nullptr)
        fail(fmt::format("plugin [{}] has an invalid descriptor (size {}, name or handle missing)",
                         path_, descriptor_->struct_size));
    name_ = descriptor_->name;
    version_ = descriptor_->version ? descriptor_->version : "";
    set_plugin_name(name_);

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

int plugin_host::handle(fcgid_request* request, fcgid_response* response) noexcept {
    try {
        return descriptor_->handle(state_, request, response);
    } catch (...) {
        spdlog::error("[{}] handler threw an exception across the plugin ABI", name_);
        return FCGID_EFAIL;
    }
}

void plugin_host::shutdown() noexcept {
    if (!initialised_) return;
    initialised_ = false;
    if (descriptor_->shutdown == nullptr) return;
    try {
        descriptor_->shutdown(state_);
    } catch (...) {
        spdlog::error("[{}] shutdown threw an exception across the plugin ABI", name_);
    }
}

}  // namespace fcgid::plugin
