#include "log/logging.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace fcgid::log {
namespace {

spdlog::level::level_enum to_spdlog(verbosity level) {
    switch (level) {
        case verbosity::quiet: return spdlog::level::warn;
        case verbosity::normal: return spdlog::level::info;
        case verbosity::debug: return spdlog::level::debug;
        case verbosity::trace: return spdlog::level::trace;
    }
    return spdlog::level::info;
}

}  // namespace

void configure(verbosity level) {
    // Not the color sink: stderr usually goes to a file or a process manager.
    auto logger = spdlog::stderr_logger_mt("fcgid");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
    logger->set_level(to_spdlog(level));
    // Every line from info up reaches the file at once: they are few (no
    // per-request logging at info), and a process manager reading stderr,
    // or a kill that follows, must not lose them.
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

void silence() {
    spdlog::set_default_logger(spdlog::null_logger_mt("fcgid-null"));
}

}  // namespace fcgid::log
