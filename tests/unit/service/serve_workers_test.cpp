// core/service/serve_workers: what the --workers master asks each worker to do.
#include "service/serve_workers.hpp"

#include <gtest/gtest.h>

namespace fcgid::service {
namespace {

using namespace std::chrono_literals;

config::server_config master_config() {
    config::server_config c;
    c.listen.type = config::listen_config::kind::tcp;
    c.listen.host = "127.0.0.1";
    c.listen.port = 9000;
    c.process.workers = 4;
    c.process.pid_file = "/run/fcgid.pid";
    c.process.user = "www-data";
    c.process.group = "www-data";
    c.process.quarantine_after = 3;
    c.limits.request_limit = 500;
    c.limits.shutdown_timeout = 7s;
    c.plugin.path = "/usr/lib/fcgid/app.so";
    c.plugin.options = {{"greeting", "hi"}};
    c.verbosity = log::verbosity::debug;
    return c;
}

TEST(WorkerConfig, AWorkerServesTheMastersSocketAsOneProcess) {
    const config::server_config w = worker_config(master_config(), 7);
    EXPECT_EQ(w.listen.type, config::listen_config::kind::inherited_fd);
    EXPECT_EQ(w.listen.fd, 7);
    EXPECT_TRUE(w.listen.fd_given);
    EXPECT_EQ(w.process.workers, 0u);  // a worker forks nothing
}

TEST(WorkerConfig, ThePidFileStaysTheMasters) {
    EXPECT_TRUE(worker_config(master_config(), 7).process.pid_file.empty());
}

TEST(WorkerConfig, EverythingElseIsKept) {
    const config::server_config m = master_config();
    const config::server_config w = worker_config(m, 7);
    EXPECT_EQ(w.process.user, m.process.user);  // the worker drops root itself
    EXPECT_EQ(w.process.group, m.process.group);
    EXPECT_EQ(w.process.quarantine_after, m.process.quarantine_after);
    EXPECT_EQ(w.limits.request_limit, m.limits.request_limit);
    EXPECT_EQ(w.limits.shutdown_timeout, m.limits.shutdown_timeout);
    EXPECT_EQ(w.plugin.path, m.plugin.path);
    EXPECT_EQ(w.plugin.options, m.plugin.options);
    EXPECT_EQ(w.verbosity, m.verbosity);
}

}  // namespace
}  // namespace fcgid::service
