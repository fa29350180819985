// --pid-file: the process id, written once the socket is bound and removed
// when fcgid exits.
#pragma once

#include <string>

namespace fcgid::service {

class pid_file {
public:
    pid_file() = default;
    // Writes getpid() to `path` (replacing an older file). Throws
    // std::runtime_error naming the path if it cannot.
    explicit pid_file(std::string path);
    ~pid_file();
    // Hands the file to the account fcgid is about to become, so that it can
    // still remove the file at exit (e.g. from /run or sticky /tmp).
    void give_to(const std::string& user, const std::string& group) const;
    pid_file(const pid_file&) = delete;
    pid_file& operator=(const pid_file&) = delete;

private:
    std::string path_;
};

}  // namespace fcgid::service
