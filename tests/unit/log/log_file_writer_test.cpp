#include "log/log_file_writer.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace fcgid::log {
namespace {

class LogFileWriter : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/fcgid-log-writer-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }

    std::string dir_;
};

TEST_F(LogFileWriter, WritesEveryLineByTheTimeItIsDestroyed) {
    {
        log_file_writer writer(file("a.log"));
        for (int i = 0; i < 1000; ++i) ASSERT_TRUE(writer.append("line " + std::to_string(i) + "\n"));
    }
    const std::string text = read(file("a.log"));
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1000);
    EXPECT_EQ(text.rfind("line 999\n"), text.size() - 9);
}

TEST_F(LogFileWriter, AppendsToWhatIsThere) {
    std::ofstream(file("a.log")) << "earlier\n";
    { log_file_writer(file("a.log")).append("later\n"); }
    EXPECT_EQ(read(file("a.log")), "earlier\nlater\n");
}

TEST_F(LogFileWriter, ReopenSendsLaterLinesToTheNewFile) {
    std::optional<log_file_writer> writer(std::in_place, file("a.log"));
    writer->append("before\n");
    ASSERT_EQ(std::rename(file("a.log").c_str(), file("a.log.1").c_str()), 0);
    writer->reopen();
    // The reopen happens on the writer thread; the new file appears with it.
    for (int i = 0; i < 500 && ::access(file("a.log").c_str(), F_OK) != 0; ++i) ::usleep(10'000);
    writer->append("after\n");
    writer.reset();  // writes out what is left
    EXPECT_EQ(read(file("a.log.1")), "before\n");
    EXPECT_EQ(read(file("a.log")), "after\n");
}

TEST_F(LogFileWriter, DropsAndCountsWhatDoesNotFit) {
    log_file_writer::settings small;
    small.capacity = 16;
    small.flush_interval = std::chrono::milliseconds(10'000);
    log_file_writer writer(file("a.log"), small);
    EXPECT_FALSE(writer.append(std::string(31, 'x') + "\n"));
    EXPECT_EQ(writer.dropped(), 1u);
    EXPECT_TRUE(writer.append("short\n"));
    EXPECT_EQ(writer.dropped(), 1u);
}

TEST_F(LogFileWriter, UnopenablePathThrowsWithTheReason) {
    try {
        log_file_writer writer(file("missing-dir/a.log"));
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace fcgid::log
