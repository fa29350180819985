#include "service/listening_socket.hpp"

#include <unistd.h>

#include <stdexcept>

#include "service/privileges.hpp"

namespace fcgid::service {

void adopt_socket_activation(config::listen_config& listen, std::optional<int> activated) {
    if (activated && listen.type == config::listen_config::kind::inherited_fd && !listen.fd_given)
        listen.fd = *activated;
}

net::address_filter allowed_peers(const config::access_config& access, const char* web_server_addrs) {
    net::address_filter allowed;
    if (web_server_addrs != nullptr) {
        try {
            allowed.add_list(web_server_addrs);
        } catch (const std::invalid_argument& e) {
            // Name the variable: nothing on the command line was wrong.
            throw std::runtime_error(std::string("FCGI_WEB_SERVER_ADDRS: ") + e.what());
        }
    }
    for (const std::string& cidr : access.allow) allowed.add(cidr);
    return allowed;
}

socket_file_remover::~socket_file_remover() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

listening_socket::listening_socket(boost::asio::io_context& io, const config::server_config& config,
                                   bool keep_root)
    : listener(net::open_listener(io, config.listen, config.access)),
      remove_socket_file(config.listen.type == config::listen_config::kind::unix_socket
                             ? config.listen.socket_path
                             : std::string()) {
    if (!config.process.pid_file.empty()) {
        pid.emplace(config.process.pid_file);
        if (!keep_root) pid->give_to(config.process.user, config.process.group);
    }
    if (!keep_root) drop_privileges(config.process.user, config.process.group);
}

}  // namespace fcgid::service
