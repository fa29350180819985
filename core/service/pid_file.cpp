#include "service/pid_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace fcgid::service {

pid_file::pid_file(std::string path) : path_(std::move(path)) {
    std::FILE* file = std::fopen(path_.c_str(), "w");
    if (file == nullptr)
        throw std::runtime_error(fmt::format("cannot write --pid-file {}: {}", path_, std::strerror(errno)));
    const bool written = std::fprintf(file, "%ld\n", static_cast<long>(::getpid())) > 0;
    if (std::fclose(file) != 0 || !written)
        throw std::runtime_error(fmt::format("cannot write --pid-file {}", path_));
}

pid_file::~pid_file() {
    // Best effort: after dropping privileges the directory may not allow it.
    if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace fcgid::service
