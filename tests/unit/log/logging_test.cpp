// core/log: the one spdlog setup. The unit tests' main silences the log;
// these tests configure it and silence it again before they end.
#include "log/logging.hpp"

#include <gtest/gtest.h>

#include <memory>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace fcgid::log {
namespace {

// Restores the unit tests' silence whatever a test did.
struct silenced_after {
    ~silenced_after() { silence(); }
};

template <typename Sink>
bool default_logger_writes_to() {
    const auto& sinks = spdlog::default_logger()->sinks();
    return sinks.size() == 1 && std::dynamic_pointer_cast<Sink>(sinks.front()) != nullptr;
}

TEST(Logging, VerbositySetsTheLevel) {
    silenced_after restore;
    configure(verbosity::quiet);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);  // errors are never silenced
    configure(verbosity::normal);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
    configure(verbosity::debug);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
    configure(verbosity::trace);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::trace);
}

TEST(Logging, ConfigureWritesToStderr) {
    silenced_after restore;
    configure(verbosity::normal);
    EXPECT_TRUE(default_logger_writes_to<spdlog::sinks::stderr_sink_mt>());
    EXPECT_EQ(spdlog::default_logger()->name(), "fcgid");
}

TEST(Logging, SilenceCanBeCalledAgainAndAfterConfigure) {
    silence();
    silence();
    EXPECT_TRUE(default_logger_writes_to<spdlog::sinks::null_sink_mt>());
    configure(verbosity::normal);
    silence();
    EXPECT_TRUE(default_logger_writes_to<spdlog::sinks::null_sink_mt>());
}

}  // namespace
}  // namespace fcgid::log
