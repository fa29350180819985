// core/plugin/plugin_host: what the loader says for each way a plugin can be
// wrong (the exact one-line texts fcgid prints before it exits), and whose
// name a plugin's log lines carry when two are loaded at once, as after a
// SIGHUP reload. The plugins are the real .so files of tests/plugins and
// plugins/hello, loaded with the real loader; only the event loop is idle.
#include "plugin/plugin_host.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "plugin/host_api.hpp"

namespace fcgid::plugin {
namespace {

std::string test_plugin(std::string_view name) {
    return std::string(FCGID_TEST_PLUGIN_DIR) + "/" + std::string(name) + ".so";
}

config::plugin_config config_for(const std::string& path) { return {.path = path, .options = {}}; }

// The one line the loader throws for `path`, or "" if the plugin loaded.
std::string load_error(const std::string& path) {
    try {
        plugin_host loaded(config_for(path));
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

class PluginHost : public ::testing::Test {
protected:
    void SetUp() override {
        bind_loop(io_);
        previous_ = spdlog::default_logger();
        auto logger = std::make_shared<spdlog::logger>(
            "plugin_host_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_));
        logger->set_pattern("%v");
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(std::move(logger));
    }
    void TearDown() override { spdlog::set_default_logger(previous_); }

    // Every line logged since the test began, "\n"-separated.
    std::string logged() const { return lines_.str(); }

    boost::asio::io_context io_;
    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(PluginHost, LoadsHelloAndReadsItsDescriptor) {
    plugin_host hello(config_for(FCGID_HELLO_PLUGIN));
    EXPECT_EQ(hello.name(), "hello");
    EXPECT_EQ(hello.version(), "0.1.0");
    EXPECT_EQ(hello.path(), std::filesystem::path(FCGID_HELLO_PLUGIN).string());
}

TEST_F(PluginHost, FileNotFound) {
    const std::string path = test_plugin("does_not_exist");
    EXPECT_EQ(load_error(path), "plugin file not found: [" + path + "]");
}

TEST_F(PluginHost, DirectoryIsNotARegularFile) {
    EXPECT_EQ(load_error(FCGID_TEST_PLUGIN_DIR),
              "plugin [" + std::string(FCGID_TEST_PLUGIN_DIR) + "] is not a regular file");
}

TEST_F(PluginHost, TextFileIsNotALibrary) {
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("plugin_host_test_" + std::to_string(::getpid()) + ".so");
    std::ofstream(path) << std::string(128, 'x') << "\n";
    const std::string error = load_error(path.string());
    std::filesystem::remove(path);
    // The rest is the dynamic loader's own words, on the private copy.
    const std::string prefix = "cannot load plugin [" + path.string() + "]: ";
    EXPECT_EQ(error.substr(0, prefix.size()), prefix) << error;
    EXPECT_NE(error.find("invalid ELF header"), std::string::npos) << error;
}

TEST_F(PluginHost, NoEntryPoint) {
    const std::string path = test_plugin("no_entry");
    EXPECT_EQ(load_error(path), "no entry point [fcgid_plugin_entry] in [" + path + "]");
}

TEST_F(PluginHost, EntryPointThrows) {
    const std::string path = test_plugin("entry_throws");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] threw from its entry point");
}

TEST_F(PluginHost, EntryPointRefusesTheHost) {
    const std::string path = test_plugin("refuses_host");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] refused this host (host ABI 1.0)");
}

TEST_F(PluginHost, WrongAbiMajor) {
    const std::string path = test_plugin("wrong_abi");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] is built for ABI 2.0 instead of 1.0");
}

TEST_F(PluginHost, DescriptorSmallerThanAbi10) {
    const std::string path = test_plugin("short_descriptor");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] has a descriptor of 16 bytes; ABI 1.0 needs at least " +
                                    std::to_string(sizeof(fcgid_plugin)));
}

TEST_F(PluginHost, DescriptorWithoutName) {
    const std::string path = test_plugin("nameless");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] has a descriptor without a name");
}

TEST_F(PluginHost, DescriptorWithoutHandle) {
    const std::string path = test_plugin("handleless");
    EXPECT_EQ(load_error(path), "plugin [" + path + "] has a descriptor without a handle function");
}

TEST_F(PluginHost, InitFailureCarriesThePluginsReason) {
    EXPECT_EQ(load_error(test_plugin("failing_init")), "plugin failing_init init failed: database unreachable");
}

// Each load is a library of its own, even while the one before is still
// loaded (a retired plugin, after a reload) and the file is another.
TEST_F(PluginHost, ALoadWhileAnotherPluginIsLoadedGetsTheNewFile) {
    plugin_host first(config_for(test_plugin("late_logger")));
    plugin_host second(config_for(FCGID_HELLO_PLUGIN));
    plugin_host third(config_for(test_plugin("failing_handler")));
    EXPECT_EQ(first.name(), "late_logger");
    EXPECT_EQ(second.name(), "hello");
    EXPECT_EQ(third.name(), "failing_handler");
}

// The bug this pins: log lines were written under the name of the plugin
// loaded LAST, so a retired plugin's thread logged under its successor's.
TEST_F(PluginHost, LogKeepsTheCallingPluginsNameWhenAnotherIsLoadedAfterIt) {
    plugin_host retired(config_for(test_plugin("late_logger")));
    plugin_host successor(config_for(FCGID_HELLO_PLUGIN));
    ASSERT_EQ(successor.name(), "hello");
    retired.shutdown();  // late_logger's thread logs, and is joined, in here
    const std::string log = logged();
    EXPECT_NE(log.find("[late_logger] late_logger: thread stops\n"), std::string::npos) << log;
    EXPECT_EQ(log.find("[hello] late_logger"), std::string::npos) << log;
}

TEST_F(PluginHost, LogSlotsAreBoundedAndGivenBackAtShutdownAndOnFailure) {
    // Failed loads give their slot back: far more of them than slots.
    for (std::size_t i = 0; i < 2 * host_table::max_loaded_plugins; ++i)
        ASSERT_NE(load_error(test_plugin("failing_init")), "");

    std::vector<std::unique_ptr<plugin_host>> loaded;
    for (std::size_t i = 0; i < host_table::max_loaded_plugins; ++i)
        loaded.push_back(std::make_unique<plugin_host>(config_for(FCGID_HELLO_PLUGIN)));
    EXPECT_EQ(load_error(FCGID_HELLO_PLUGIN),
              "too many plugin instances loaded at once (" + std::to_string(host_table::max_loaded_plugins) +
                  "): older ones still hold requests in flight");

    // A retired plugin stays in memory after its shutdown(), but its slot is free.
    loaded.front()->shutdown();
    plugin_host late(config_for(test_plugin("late_logger")));
    ASSERT_EQ(late.name(), "late_logger");
    late.shutdown();
    EXPECT_NE(logged().find("[late_logger] late_logger: thread stops\n"), std::string::npos) << logged();
}

}  // namespace
}  // namespace fcgid::plugin
