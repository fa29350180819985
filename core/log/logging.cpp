#include "log/logging.hpp"

#include <memory>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace fcgid::log {
namespace {

// The logger's name; the daemon has one logger, so no line shows it.
constexpr const char* logger_name = "fcgid";
constexpr const char* line_pattern = "%Y-%m-%d %H:%M:%S.%e [%l] %v";
constexpr const char* worker_line_pattern = "%Y-%m-%d %H:%M:%S.%e [%l] [worker %P] %v";

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
    // Built directly rather than through spdlog's registry (stderr_logger_mt),
    // which throws when the name is taken: set_default_logger replaces.
    auto logger = std::make_shared<spdlog::logger>(logger_name,
                                                   std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern(line_pattern);
    logger->set_level(to_spdlog(level));
    // Every line from info up reaches the file at once: they are few (no
    // per-request logging at info), and a process manager reading stderr,
    // or a kill that follows, must not lose them.
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

void name_worker_in_lines() {
    spdlog::default_logger()->set_pattern(worker_line_pattern);
}

void silence() {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>(logger_name, std::make_shared<spdlog::sinks::null_sink_mt>()));
}

}  // namespace fcgid::log
