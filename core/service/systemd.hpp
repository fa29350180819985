// The two systemd protocols fcgid speaks, without linking libsystemd:
// socket activation (LISTEN_FDS/LISTEN_PID) and readiness notification
// (NOTIFY_SOCKET). Both are plain environment variables and a datagram.
#pragma once

#include <optional>
#include <string_view>

namespace fcgid::service {

// The first socket systemd passed (fd 3) when LISTEN_PID names this process
// and LISTEN_FDS >= 1; nullopt otherwise. Clears the LISTEN_* variables so a
// plugin's child processes do not take the socket for theirs.
std::optional<int> systemd_listen_fd();

// Sends `state` ("READY=1", "STOPPING=1"...) to NOTIFY_SOCKET if it is set.
// Never blocks (a datagram on a non-blocking socket); errors are ignored, as
// the protocol allows.
void notify_systemd(std::string_view state) noexcept;

}  // namespace fcgid::service
