// core/net/worker_loads: the table --workers workers share to split new
// connections. The table is shared between processes, so the other workers
// here are real forked processes that join the same mapping; this process
// plays the worker that asks whether it is ahead.
#include "net/worker_loads.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

namespace fcgid::net {
namespace {

constexpr int deadline_ms = 10'000;

// A forked worker: joins the table, publishes `connections`, reports whether
// it joined, then waits for word to leave or to die without leaving (as a
// crashed worker does).
class worker_process {
public:
    worker_process(worker_loads& loads, std::uint32_t connections) {
        int to_child[2];
        int from_child[2];
        if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) {
            ::close(to_child[1]);
            ::close(from_child[0]);
            const char joined = loads.join() ? 1 : 0;
            loads.publish(connections);
            if (::write(from_child[1], &joined, 1) != 1) ::_exit(2);
            char command = 0;
            if (::read(to_child[0], &command, 1) == 1 && command == 'l') loads.leave();
            ::_exit(0);  // closes from_child: the parent sees it gone
        }
        ::close(to_child[0]);
        ::close(from_child[1]);
        command_ = to_child[1];
        reply_ = from_child[0];
        char joined = 0;
        if (!readable() || ::read(reply_, &joined, 1) != 1) {
            stop();
            throw std::runtime_error("the worker process did not report");
        }
        joined_ = joined == 1;
    }
    ~worker_process() { stop(); }
    worker_process(const worker_process&) = delete;
    worker_process& operator=(const worker_process&) = delete;

    pid_t pid() const { return pid_; }
    bool joined() const { return joined_; }

    // Returns once the process has left the table and exited.
    void leave() { finish('l'); }
    // Returns once the process has exited without leaving the table.
    void die() { finish('d'); }

private:
    bool readable() const {
        pollfd p{reply_, POLLIN, 0};
        return ::poll(&p, 1, deadline_ms) == 1;
    }

    void finish(char command) {
        ASSERT_EQ(::write(command_, &command, 1), 1);
        // Its end of the pipe closes when it exits, after leave() if told.
        char byte;
        ASSERT_TRUE(readable()) << "worker " << pid_ << " did not exit";
        ASSERT_EQ(::read(reply_, &byte, 1), 0);
        stop();
    }

    void stop() {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);  // harmless once it has exited: not reaped yet
            ::waitpid(pid_, nullptr, 0);
            reaped_ = true;
        }
        if (command_ >= 0) ::close(command_);
        if (reply_ >= 0) ::close(reply_);
        command_ = reply_ = -1;
    }

    pid_t pid_ = 0;
    bool reaped_ = false;
    int command_ = -1;
    int reply_ = -1;
    bool joined_ = false;
};

TEST(WorkerLoads, NotJoinedNeverWaitsAndPublishesNothing) {
    const auto loads = worker_loads::create();
    loads->publish(100);
    EXPECT_FALSE(loads->ahead_of_least_loaded());
    loads->leave();  // no entry: nothing to free

    worker_process other(*loads, 0);
    ASSERT_TRUE(other.joined());
    EXPECT_FALSE(loads->ahead_of_least_loaded()) << "a worker without an entry accepts freely";
}

TEST(WorkerLoads, AloneItNeverWaits) {
    const auto loads = worker_loads::create();
    ASSERT_TRUE(loads->join());
    loads->publish(1000);
    EXPECT_FALSE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, AheadOnlyWithMoreThanTheLeastLoadedOther) {
    const auto loads = worker_loads::create();
    worker_process other(*loads, 2);
    ASSERT_TRUE(other.joined());
    ASSERT_TRUE(loads->join());
    loads->publish(2);
    EXPECT_FALSE(loads->ahead_of_least_loaded()) << "as many as the other is not ahead";
    loads->publish(3);
    EXPECT_TRUE(loads->ahead_of_least_loaded());
    loads->publish(0);
    EXPECT_FALSE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, TheLeastLoadedOfSeveralDecides) {
    const auto loads = worker_loads::create();
    worker_process busy(*loads, 9);
    worker_process idle(*loads, 1);
    worker_process middle(*loads, 5);
    ASSERT_TRUE(loads->join());
    loads->publish(4);
    EXPECT_TRUE(loads->ahead_of_least_loaded()) << "ahead of the one with 1, behind the others";
    idle.leave();
    EXPECT_FALSE(loads->ahead_of_least_loaded()) << "now the least loaded other has 5";
}

TEST(WorkerLoads, AWorkerThatLeftIsNotWaitedFor) {
    const auto loads = worker_loads::create();
    worker_process other(*loads, 0);
    ASSERT_TRUE(loads->join());
    loads->publish(3);
    ASSERT_TRUE(loads->ahead_of_least_loaded());
    other.leave();
    EXPECT_FALSE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, ACrashedWorkerCountsUntilTheMasterForgetsIt) {
    const auto loads = worker_loads::create();
    worker_process crashed(*loads, 0);
    worker_process alive(*loads, 0);
    ASSERT_TRUE(loads->join());
    loads->publish(1);
    crashed.die();
    EXPECT_TRUE(loads->ahead_of_least_loaded()) << "its entry stays until forget()";
    loads->forget(crashed.pid());
    EXPECT_TRUE(loads->ahead_of_least_loaded()) << "forget() freed another worker's entry";
    alive.die();
    loads->forget(alive.pid());
    EXPECT_FALSE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, ForgettingAnUnknownPidChangesNothing) {
    const auto loads = worker_loads::create();
    worker_process other(*loads, 0);
    ASSERT_TRUE(loads->join());
    loads->publish(1);
    loads->forget(other.pid() + 100000);
    EXPECT_TRUE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, CountsPastTheFieldAreCappedNotWrapped) {
    const auto loads = worker_loads::create();
    worker_process other(*loads, 2);
    ASSERT_TRUE(loads->join());
    // 2^32 + 1 would wrap to 1, behind the other's 2.
    loads->publish(std::size_t{std::numeric_limits<std::uint32_t>::max()} + 2);
    EXPECT_TRUE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, AfterLeavingItAcceptsFreelyAndMayJoinAgain) {
    const auto loads = worker_loads::create();
    worker_process other(*loads, 0);
    ASSERT_TRUE(loads->join());
    loads->publish(5);
    ASSERT_TRUE(loads->ahead_of_least_loaded());
    loads->leave();
    EXPECT_FALSE(loads->ahead_of_least_loaded());
    ASSERT_TRUE(loads->join());
    EXPECT_FALSE(loads->ahead_of_least_loaded()) << "a new entry starts at 0 connections";
    loads->publish(1);
    EXPECT_TRUE(loads->ahead_of_least_loaded());
}

TEST(WorkerLoads, AFullTableRefusesAndForgetFreesEveryEntryOfAPid) {
    const auto loads = worker_loads::create();
    // This process takes every entry (each join() takes one more), so that
    // a worker forked now finds no room.
    for (std::size_t i = 0; i < worker_loads::max_workers; ++i) ASSERT_TRUE(loads->join()) << i;
    {
        worker_process late(*loads, 7);
        EXPECT_FALSE(late.joined());
    }
    loads->forget(::getpid());
    worker_process next(*loads, 0);
    EXPECT_TRUE(next.joined());
}

}  // namespace
}  // namespace fcgid::net
