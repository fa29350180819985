#include "service/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace fcgid::service {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

void check(int rc, const char* what) {
    if (rc != 0) fail(fmt::format("cannot drop privileges: {}: {}", what, std::strerror(errno)));
}

}  // namespace

void drop_privileges(const std::string& user, const std::string& group) {
    if (user.empty() && group.empty()) return;
    if (::geteuid() != 0) fail("--user and --group need fcgid to be started as root");
    // A group alone would leave the user id 0, and plugin code running as root.
    if (user.empty()) fail("--group needs --user: without it, fcgid would still run as root");

    // Startup, single-threaded: the non-reentrant lookups are fine here.
    const passwd* account = nullptr;
    if (!user.empty()) {
        account = ::getpwnam(user.c_str());
        if (account == nullptr) fail(fmt::format("unknown user '{}' for --user", user));
    }
    gid_t gid = account ? account->pw_gid : 0;
    if (!group.empty()) {
        const struct group* entry = ::getgrnam(group.c_str());
        if (entry == nullptr) fail(fmt::format("unknown group '{}' for --group", group));
        gid = entry->gr_gid;
    }
    const uid_t uid = account ? account->pw_uid : 0;

    // Groups first: once the user id changes we may no longer change them.
    if (account) check(::initgroups(account->pw_name, gid), "initgroups");
    else check(::setgroups(0, nullptr), "setgroups");
    check(::setgid(gid), "setgid");
    if (account) {
        check(::setuid(uid), "setuid");
        if (uid != 0 && ::setuid(0) == 0) fail("cannot drop privileges: root could be regained");
    }
}

}  // namespace fcgid::service
