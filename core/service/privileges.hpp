// Dropping root after the listening socket is bound (--user, --group).
#pragma once

#include <string>

namespace fcgid::service {

// Switches to `group` (if not empty) and `user` (if not empty; its
// supplementary groups too, and its primary group unless `group` is given).
// Throws std::runtime_error with one line naming the problem: not root, an
// unknown name, a failed call. Checks that root cannot be regained.
void drop_privileges(const std::string& user, const std::string& group);

}  // namespace fcgid::service
