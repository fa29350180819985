// main() of unit_tests: GoogleTest's, with the log silenced first. Core code
// run in-process logs through spdlog's default logger, which would otherwise
// print coloured lines to stdout among the test results; tests assert on
// values and exceptions, never on those lines.
#include <gtest/gtest.h>

#include "log/logging.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    fcgid::log::silence();
    return RUN_ALL_TESTS();
}
