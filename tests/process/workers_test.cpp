// --workers N (README, "Processes and signals"): a master pre-forks N workers
// sharing the socket, replaces a worker that exits, drains them all on
// SIGTERM and exits 0 when they have; a second signal stops at once (exit 1).
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <thread>

#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

TEST(Workers, TwoWorkersEachLogListeningAndEachAnswers) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    const std::string log = d->log();
    const std::vector<pid_t> listening = worker_pids_listening(log);
    ASSERT_EQ(listening.size(), 2u) << log;
    EXPECT_NE(listening[0], listening[1]);
    EXPECT_EQ(count_of(log, "] listening on fd "), 2u) << log;

    std::vector<pid_t> children = wait_children(d->pid(), 2);
    std::vector<pid_t> expected = listening;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(children, expected) << "the master's children are not the workers that logged";

    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(post_once(d->host(), d->port(), "request " + std::to_string(i)), answered_by::echo);
    const auto answers = ask_each_worker(*d, children);
    for (const pid_t w : children) {
        ASSERT_TRUE(answers.count(w)) << "worker " << w;
        EXPECT_EQ(answers.at(w), answered_by::echo) << "worker " << w;
    }
    EXPECT_TRUE(d->running());
}

// Sockets a process holds open: its connections plus the listening socket.
std::size_t open_sockets(pid_t pid) {
    std::size_t sockets = 0;
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        const auto target = std::filesystem::read_symlink(fd.path(), ec);
        if (!ec && target.string().starts_with("socket:")) ++sockets;
    }
    return sockets;
}

// Without sharing their counts, the worker that woke first took nearly every
// connection of a burst (29 of 32 was typical) and kept them all.
TEST(Workers, ABurstOf32ConnectionsIsSplitBetweenTwoWorkers) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);
    std::vector<fcgid_test::fcgi_connection> burst;
    for (int i = 0; i < 32; ++i) burst.push_back(fcgid_test::fcgi_connection::connect_tcp(d->host(), d->port()));
    // Each answered: by now every connection has been accepted by a worker.
    for (std::size_t i = 0; i < burst.size(); ++i)
        EXPECT_EQ(fcgid_test::parse_cgi_response(burst[i].round_trip(1, "").stdout_data).status, 200) << i;
    const std::size_t first = open_sockets(workers[0]) - 1;  // less the listening socket
    const std::size_t second = open_sockets(workers[1]) - 1;
    EXPECT_EQ(first + second, 32u);
    // 16 each when both workers are awake; a loaded machine may keep one
    // asleep for a while, during which the other still takes one per hold-back.
    EXPECT_GE(std::min(first, second), 8u) << "worker connections: " << first << " and " << second;
}

TEST(Workers, SigtermWithARequestInFlightDeliversItThenTheMasterExitsZeroWithNoWorkerLeft) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);

    fcgi_connection c = d->connect();
    const auto sent = clock_type::now();
    c.send_request(1, "delay_ms=1000", "held across SIGTERM", fcgi::keep_conn, "POST");
    std::string why;
    // Answered on the same connection: request 1 was dispatched before it.
    ASSERT_EQ(classify(c.round_trip(2, "", "marker", fcgi::keep_conn, "POST"), "marker", why),
              answered_by::echo) << why;

    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("stopping 2 workers", 5000ms)) << d->log();
    const auto held = classify(c.read_response(1), "held across SIGTERM", why);
    EXPECT_EQ(held, answered_by::echo) << why;
    EXPECT_GE(clock_type::now() - sent, 1000ms);
    EXPECT_TRUE(c.wait_closed(5000ms)) << "the draining worker kept the connection open";

    EXPECT_EQ(d->wait_exit(10'000ms), 0) << d->log();
    for (const pid_t w : workers) EXPECT_TRUE(wait_gone(w, 1000ms)) << "worker " << w << " remains";
    EXPECT_TRUE(children_of(d->pid()).empty());
    const std::string log = d->log();
    EXPECT_NE(log.find("exiting: all workers stopped"), std::string::npos) << log;
    EXPECT_EQ(count_of(log, "exited with status 0"), 2u) << log;
}

// A single process closes its listener when it drains, so a web server's
// connect is refused at once and it tries another upstream. With --workers,
// a new connection during the drain must not be left hanging either.
TEST(Workers, NewConnectionWhileEveryWorkerDrainsIsRefusedOrServedNotLeftHanging) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    fcgi_connection held = d->connect();
    held.send_request(1, "delay_ms=3000", "held", fcgi::keep_conn, "POST");
    std::string why;
    ASSERT_EQ(classify(held.round_trip(2, "", "marker", fcgi::keep_conn, "POST"), "marker", why),
              answered_by::echo) << why;

    d->send_signal(SIGTERM);
    ASSERT_TRUE(wait_for_count(*d, "] draining: signal SIGTERM\n", 2, 5000ms)) << d->log();
    const int connect_errno = d->try_connect();
    if (connect_errno == 0) {
        fcgi_connection late = d->connect();
        late.send_request(1, "", "late", 0, "POST");
        std::optional<fcgid_test::response> answer;
        try {
            answer = late.try_read_response(1, 1500ms);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "connection accepted during the drain, then closed unanswered: " << e.what();
        }
        EXPECT_TRUE(answer) << "connect() succeeded while both workers drained, and the request got no "
                               "answer in 1.5 s: the master still holds the listening socket, so the "
                               "kernel accepts connections that no process will serve";
    } else {
        EXPECT_EQ(connect_errno, ECONNREFUSED);
    }
    EXPECT_EQ(d->wait_exit(10'000ms), 0) << d->log();
}

TEST(Workers, SecondSigtermKillsTheWorkersAndTheMasterExitsOne) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);
    fcgi_connection c = d->connect();
    c.send_request(1, "delay_ms=20000", "never answered", fcgi::keep_conn, "POST");
    std::string why;
    ASSERT_EQ(classify(c.round_trip(2, "", "marker", fcgi::keep_conn, "POST"), "marker", why),
              answered_by::echo) << why;

    d->send_signal(SIGTERM);
    // Signals of one kind do not queue: the second must come after the first was taken.
    ASSERT_TRUE(d->wait_for_log("stopping 2 workers", 5000ms)) << d->log();
    const auto second_at = clock_type::now();
    d->send_signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(5000ms), 1) << d->log();
    EXPECT_LT(clock_type::now() - second_at, 3000ms);
    for (const pid_t w : workers) EXPECT_TRUE(wait_gone(w, 1000ms)) << "worker " << w << " remains";
    EXPECT_NE(d->log().find("second signal"), std::string::npos) << d->log();
    EXPECT_TRUE(c.wait_closed(2000ms));
}

TEST(Workers, WorkerKilledWithSigkillIsReplacedAndTheServiceKeepsAnswering) {
    auto d = start_two_workers(fcgid_test::echo_plugin());
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);
    const pid_t victim = workers[0];
    const pid_t survivor = workers[1];

    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(post_once(d->host(), d->port(), "while replacing " + std::to_string(i)), answered_by::echo);

    EXPECT_TRUE(d->wait_for_log("worker " + std::to_string(victim) + " killed by signal SIGKILL", 5000ms)) << d->log();
    ASSERT_TRUE(wait_for_count(*d, "] listening on fd ", 3, 5000ms)) << d->log();
    const std::vector<pid_t> listening = worker_pids_listening(d->log());
    const pid_t replacement = listening.back();
    EXPECT_NE(replacement, victim);
    EXPECT_NE(replacement, survivor);

    std::vector<pid_t> expected{survivor, replacement};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(wait_children(d->pid(), 2), expected);
    const auto answers = ask_each_worker(*d, expected);
    for (const pid_t w : expected) EXPECT_EQ(answers.at(w), answered_by::echo) << "worker " << w;
    EXPECT_TRUE(d->running());
}

TEST(Workers, SighupWithAPluginWhoseInitFailsStopsTheRollAndTheOldWorkersKeepServing) {
    temp_dir files;
    const std::string plugin = files.file("app.so");
    std::filesystem::copy_file(fcgid_test::echo_plugin(), plugin);
    auto d = start_two_workers(plugin);
    const std::vector<pid_t> old_workers = wait_children(d->pid(), 2);
    ASSERT_EQ(old_workers.size(), 2u);

    replace_by_rename(fcgid_test::test_plugin("failing_init"), plugin);
    d->send_signal(SIGHUP);
    ASSERT_TRUE(d->wait_for_log("rolling restart stopped", 5000ms)) << d->log();
    EXPECT_NE(d->log().find("database unreachable"), std::string::npos) << d->log();
    // The fresh worker that failed is reaped and not replaced: the old two remain.
    EXPECT_EQ(wait_children(d->pid(), 2), old_workers) << d->log();
    // Deliberate: no worker may be started again during this pause.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(children_of(d->pid()), old_workers) << "a worker was started again:\n" << d->log();
    const auto answers = ask_each_worker(*d, old_workers);
    for (const pid_t w : old_workers) EXPECT_EQ(answers.at(w), answered_by::echo) << "worker " << w;
    EXPECT_TRUE(d->running());
}

TEST(Workers, WorkersDoNotOutliveAMasterKilledWithSigkill) {
    // A master that dies (OOM killer, kill -9 by a process manager) must not
    // leave workers serving on: nothing would recycle or stop them any more,
    // and they keep the port, so a restarted fcgid cannot bind it.
    temp_dir files;
    const std::string plugin = files.file("orphan_probe.so");  // names our processes in /proc
    std::filesystem::copy_file(fcgid_test::echo_plugin(), plugin);
    auto d = start_two_workers(plugin);
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);
    // Whatever the outcome, no worker of ours survives the test.
    struct reap_orphans {
        std::string plugin;
        ~reap_orphans() {
            for (const pid_t p : processes_with_argument(plugin)) ::kill(p, SIGKILL);
        }
    } cleanup{plugin};

    ::kill(d->pid(), SIGKILL);
    EXPECT_EQ(d->wait_exit(5000ms), 128 + SIGKILL);
    const auto deadline = clock_type::now() + 3000ms;
    for (const pid_t w : workers) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
        EXPECT_TRUE(wait_gone(w, std::max(left, milliseconds(0))))
            << "worker " << w << " still runs 3 s after its master was killed (state "
            << process_state(w).value_or('?') << ", parent " << status_field(w, "PPid") << ")";
    }
    if (fcgid_test::fcgi_connection::try_connect_tcp("127.0.0.1", d->port()) == 0) {
        ADD_FAILURE() << "the port still accepts connections after the master was killed; an orphan "
                         "answered with "
                      << name_of(post_once("127.0.0.1", d->port(), "orphan?"));
    }
}

TEST(Workers, FailingInitWithTwoWorkersExitsNonZeroQuicklyWithTheInitError) {
    // A path of our own, to find any process left behind by its command line.
    temp_dir files;
    const std::string plugin = files.file("failing_init_workers.so");
    std::filesystem::copy_file(fcgid_test::test_plugin("failing_init"), plugin);

    const auto started = clock_type::now();
    const auto r = fcgid_test::run_fcgid(
        {"run", "--plugin", plugin, "--host", "127.0.0.1", "--port", "0", "--workers", "2"}, 10'000ms);
    const auto took = clock_type::now() - started;
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_NE(r.exit_code, -1) << "still running after 10 s: " << r.err;
    EXPECT_LT(took, 5000ms);
    EXPECT_NE(r.err.find("init failed: database unreachable"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("fcgid: error:"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("workers serving"), std::string::npos) << r.err;
    EXPECT_TRUE(processes_with_argument(plugin).empty()) << "a worker outlived the master";
}

}  // namespace
}  // namespace fcgid_process
