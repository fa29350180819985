// core/service/crash_reports: what a dying --workers worker leaves for its
// master, and the line the master logs from it. record() runs in a signal
// handler in real use; here it is called directly, in one process, on the
// same shared mapping.
#include "service/crash_reports.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <string>

namespace fcgid::service {
namespace {

using namespace std::chrono_literals;

const monotonic_time t0 = 1h;

const request_description get_crash{"GET", "/?crash", 0, 7};

TEST(CrashReports, NoReportForAPidThatWroteNone) {
    const auto reports = crash_reports::create({});
    EXPECT_FALSE(reports->take(1234).has_value());
}

TEST(CrashReports, AStallKillIsReportedWithItsRequestAndCountedWithoutAStrike) {
    const auto reports = crash_reports::create({2, 60s});
    const request_description spin{"GET", "/spin?spin=9000\n", 0, 5};
    reports->record_stall(1234, plugin_callback::handle, &spin, 3200ms);
    reports->record_stall(1235, plugin_callback::loop_task, nullptr, 4000ms);
    EXPECT_EQ(reports->stall_kills(), 2u);

    const auto report = reports->take(1234);
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->stall_killed);
    EXPECT_EQ(report->signal_number, SIGKILL);
    EXPECT_EQ(report->strike.strikes, 0u);
    EXPECT_EQ(describe(*report, {2, 60s}),
              " by its stall watchdog: the plugin had not returned from handle() for 3.2 s, serving GET "
              "/spin?spin=9000? (request id 5)");
    const auto task = reports->take(1235);
    ASSERT_TRUE(task.has_value());
    EXPECT_EQ(describe(*task, {2, 60s}),
              " by its stall watchdog: the plugin had not returned from a task it queued with call_on_loop "
              "for 4.0 s, serving no request");
    // The request that stalled is not quarantined: only crashes count.
    reports->record(1236, SIGSEGV, &spin, t0);
    EXPECT_EQ(reports->take(1236)->strike.strikes, 1u);
}

TEST(CrashReports, ARecordedRequestIsTakenOnceWithEveryField) {
    const auto reports = crash_reports::create({});
    const request_description post{"POST", "/upload?x=1", 4096, 3};
    reports->record(1234, SIGSEGV, &post, t0);

    const auto report = reports->take(1234);
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->signal_number, SIGSEGV);
    EXPECT_TRUE(report->serving);
    EXPECT_EQ(report->method, "POST");
    EXPECT_EQ(report->uri, "/upload?x=1");
    EXPECT_EQ(report->body_size, 4096u);
    EXPECT_EQ(report->request_id, 3u);
    EXPECT_EQ(report->strike.strikes, 1u);
    EXPECT_FALSE(report->strike.quarantined);
    EXPECT_TRUE(report->strike.recorded);

    EXPECT_FALSE(reports->take(1234).has_value()) << "take() frees the report";
}

TEST(CrashReports, ACrashOutsideARequestHasNoRequestAndNoStrike) {
    const auto reports = crash_reports::create({});
    reports->record(55, SIGABRT, nullptr, t0);
    const auto report = reports->take(55);
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->signal_number, SIGABRT);
    EXPECT_FALSE(report->serving);
    EXPECT_TRUE(report->method.empty());
    EXPECT_TRUE(report->uri.empty());
    EXPECT_EQ(report->strike.strikes, 0u);
    EXPECT_TRUE(reports->quarantine().never_used());
}

TEST(CrashReports, AReusedSlotDoesNotShowTheLastRequest) {
    const auto reports = crash_reports::create({});
    reports->record(1, SIGSEGV, &get_crash, t0);
    ASSERT_TRUE(reports->take(1).has_value());
    reports->record(2, SIGBUS, nullptr, t0);
    const auto report = reports->take(2);
    ASSERT_TRUE(report.has_value());
    EXPECT_FALSE(report->serving);
    EXPECT_TRUE(report->uri.empty());
}

TEST(CrashReports, ReportsAreKeptPerPid) {
    const auto reports = crash_reports::create({});
    const request_description other{"PUT", "/other", 1, 9};
    reports->record(10, SIGSEGV, &get_crash, t0);
    reports->record(20, SIGILL, &other, t0);
    const auto second = reports->take(20);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->signal_number, SIGILL);
    EXPECT_EQ(second->uri, "/other");
    const auto first = reports->take(10);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->uri, "/?crash");
}

TEST(CrashReports, LongMethodAndUriAreCut) {
    const auto reports = crash_reports::create({});
    const std::string method(crash_reports::method_room + 5, 'M');
    const std::string uri = "/" + std::string(crash_reports::uri_room + 100, 'u');
    const request_description request{method, uri, 0, 1};
    reports->record(3, SIGSEGV, &request, t0);
    const auto report = reports->take(3);
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->method, method.substr(0, crash_reports::method_room));
    EXPECT_EQ(report->uri, uri.substr(0, crash_reports::uri_room));
}

TEST(CrashReports, TheSecondCrashOnARequestQuarantinesIt) {
    const auto reports = crash_reports::create({2, 60s});
    reports->record(1, SIGSEGV, &get_crash, t0);
    reports->record(2, SIGSEGV, &get_crash, t0 + 10s);
    const auto first = reports->take(1);
    const auto second = reports->take(2);
    ASSERT_TRUE(first.has_value() && second.has_value());
    EXPECT_EQ(first->strike.strikes, 1u);
    EXPECT_FALSE(first->strike.quarantined);
    EXPECT_EQ(second->strike.strikes, 2u);
    EXPECT_TRUE(second->strike.quarantined);
    EXPECT_TRUE(reports->quarantine().quarantined(signature_of(get_crash), t0 + 11s));
}

TEST(CrashReports, WhenEverySlotIsTakenTheReportIsDroppedNotMisfiled) {
    const auto reports = crash_reports::create({});
    for (pid_t pid = 1; pid <= static_cast<pid_t>(crash_reports::capacity); ++pid)
        reports->record(pid, SIGSEGV, nullptr, t0);
    const pid_t late = crash_reports::capacity + 1;
    reports->record(late, SIGSEGV, nullptr, t0);
    EXPECT_FALSE(reports->take(late).has_value());
    ASSERT_TRUE(reports->take(1).has_value());
    reports->record(late, SIGBUS, nullptr, t0);  // a slot is free again
    const auto report = reports->take(late);
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->signal_number, SIGBUS);
}

// ---- describe() --------------------------------------------------------------------------------

crash_report serving(std::string uri, strike_result strike = {1, false, true}) {
    crash_report r;
    r.signal_number = SIGSEGV;
    r.serving = true;
    r.method = "GET";
    r.uri = std::move(uri);
    r.request_id = 1;
    r.body_size = 0;
    r.strike = strike;
    return r;
}

TEST(DescribeCrash, OutsideARequest) {
    crash_report r;
    r.signal_number = SIGSEGV;
    EXPECT_EQ(describe(r, {}), ", outside any request's handle()");
}

TEST(DescribeCrash, FirstStrike) {
    EXPECT_EQ(describe(serving("/x"), {2, 60s}),
              " while the plugin handled GET /x (request id 1, body 0 bytes); crash 1 of 2 within "
              "60 s before it is quarantined");
}

TEST(DescribeCrash, Quarantined) {
    EXPECT_EQ(describe(serving("/x", {2, true, true}), {2, 60s}),
              " while the plugin handled GET /x (request id 1, body 0 bytes); crash 2 of 2 within "
              "60 s: quarantined, workers answer it 500 without calling the plugin for 60 s");
}

TEST(DescribeCrash, QuarantineTableFull) {
    EXPECT_EQ(describe(serving("/x", {0, false, false}), {2, 60s}),
              " while the plugin handled GET /x (request id 1, body 0 bytes); the quarantine "
              "table is full, so it was not counted");
}

TEST(DescribeCrash, QuarantineOffSaysNothingOfStrikes) {
    EXPECT_EQ(describe(serving("/x"), {0, 60s}),
              " while the plugin handled GET /x (request id 1, body 0 bytes)");
}

TEST(DescribeCrash, ControlCharactersInTheUriAreQuestionMarks) {
    const std::string text = describe(serving(std::string("/a\r\nb\x1b[31m\x7f\tc\0d", 15)), {0, 60s});
    EXPECT_EQ(text, " while the plugin handled GET /a??b?[31m??c?d (request id 1, body 0 bytes)");
}

TEST(DescribeCrash, BytesAboveAsciiAreKept) {
    // UTF-8 is not a control character: "/caf\xc3\xa9" stays as it is.
    EXPECT_EQ(describe(serving("/caf\xc3\xa9"), {0, 60s}),
              " while the plugin handled GET /caf\xc3\xa9 (request id 1, body 0 bytes)");
}

}  // namespace
}  // namespace fcgid::service
