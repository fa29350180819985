#include "service/pid_file.hpp"

#include <grp.h>
#include <pwd.h>
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

void pid_file::give_to(const std::string& user, const std::string& group) const {
    if (path_.empty() || (user.empty() && group.empty())) return;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (const passwd* account = user.empty() ? nullptr : ::getpwnam(user.c_str())) uid = account->pw_uid;
    if (const struct group* entry = group.empty() ? nullptr : ::getgrnam(group.c_str())) gid = entry->gr_gid;
    // Best effort: drop_privileges reports unknown names next, in one line.
    (void)::chown(path_.c_str(), uid, gid);
}

pid_file::~pid_file() {
    // Best effort: after dropping privileges the directory may not allow it.
    if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace fcgid::service
