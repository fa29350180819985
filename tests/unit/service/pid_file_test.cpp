// core/service/pid_file: --pid-file, written at start and removed at exit.
#include "service/pid_file.hpp"

#include <gtest/gtest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fcgid::service {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with whatever the test left in it.
class scratch_dir {
public:
    scratch_dir() {
        std::string pattern = (fs::temp_directory_path() / "fcgid-pid-file-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
        path_ = pattern;
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

std::string contents(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(PidFile, HoldsThePidAndANewlineAndGoesAwayWithTheObject) {
    scratch_dir dir;
    const std::string path = dir / "fcgid.pid";
    {
        const pid_file file(path);
        EXPECT_EQ(contents(path), std::to_string(::getpid()) + "\n");
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST(PidFile, ReplacesAnOlderFile) {
    scratch_dir dir;
    const std::string path = dir / "fcgid.pid";
    std::ofstream(path) << "999999999\nstale and longer than a pid\n";
    const pid_file file(path);
    EXPECT_EQ(contents(path), std::to_string(::getpid()) + "\n");
}

TEST(PidFile, AnUnwritablePathIsOneLineNamingIt) {
    scratch_dir dir;
    const std::string path = dir / "missing-dir/fcgid.pid";
    try {
        const pid_file file(path);
        FAIL() << "wrote " << path;
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "cannot write --pid-file " + path + ": No such file or directory");
    }
}

TEST(PidFile, GiveToUnknownNamesLeavesTheOwnerAndDoesNotThrow) {
    // drop_privileges reports unknown names; give_to is best effort.
    scratch_dir dir;
    const std::string path = dir / "fcgid.pid";
    const pid_file file(path);
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    EXPECT_NO_THROW(file.give_to("no-such-user-fcgid", "no-such-group-fcgid"));
    EXPECT_NO_THROW(file.give_to("", ""));
    struct stat after {};
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_EQ(after.st_uid, before.st_uid);
    EXPECT_EQ(after.st_gid, before.st_gid);
}

TEST(PidFile, GiveToHandsTheFileToTheAccount) {
    if (::geteuid() != 0) GTEST_SKIP() << "only root may give a file away";
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
    scratch_dir dir;
    const std::string path = dir / "fcgid.pid";
    const pid_file file(path);
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    file.give_to("nobody", "");
    struct stat after {};
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_EQ(after.st_uid, nobody->pw_uid);
    EXPECT_EQ(after.st_gid, before.st_gid) << "no group named: the group is kept";
}

}  // namespace
}  // namespace fcgid::service
