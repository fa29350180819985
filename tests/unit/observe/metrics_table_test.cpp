#include "observe/metrics_table.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "observe/snapshot.hpp"

namespace fcgid::observe {
namespace {

TEST(Histogram, PutsEachDurationInTheFirstBucketThatHoldsIt) {
    histogram h;
    h.observe(0);
    h.observe(500);        // on the bound: the 0.5 ms bucket
    h.observe(501);        // just over: the 1 ms bucket
    h.observe(60'000'001); // past the last bound: +Inf
    EXPECT_EQ(h.counts[0].get(), 2u);
    EXPECT_EQ(h.counts[1].get(), 1u);
    EXPECT_EQ(h.counts[histogram::buckets - 1].get(), 1u);
    EXPECT_EQ(h.sum_us.get(), 500u + 501u + 60'000'001u);
}

TEST(WorkerRow, CountsAnAnsweredRequestByStatusClassAndDuration) {
    worker_row row;
    row.request_answered(200, 700);
    row.request_answered(404, 100);
    row.request_answered(503, 100);
    row.request_answered(99, 100);  // no class of its own, still a request
    EXPECT_EQ(row[counter_id::requests].get(), 4u);
    EXPECT_EQ(row[counter_id::responses_2xx].get(), 1u);
    EXPECT_EQ(row[counter_id::responses_4xx].get(), 1u);
    EXPECT_EQ(row[counter_id::responses_5xx].get(), 1u);
    EXPECT_EQ(row[counter_id::responses_1xx].get(), 0u);
    EXPECT_EQ(row[histogram_id::request_duration].counts[1].get(), 1u);
    EXPECT_EQ(row[histogram_id::request_duration].sum_us.get(), 1000u);
}

TEST(MetricsTable, TotalsAddLiveRowsAndKeepWhatARetiredRowCounted) {
    auto table = metrics_table::create();
    worker_row* a = table->join();
    worker_row* b = table->join();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(a, b);
    (*a)[counter_id::sent_bytes].add(100);
    (*b)[counter_id::sent_bytes].add(23);
    (*a)[gauge_id::connections_active].set(2);
    snapshot before = take_snapshot(*table);
    EXPECT_EQ(before.workers.size(), 2u);
    EXPECT_EQ(before.total[counter_id::sent_bytes], 123u);
    EXPECT_EQ(before.total[gauge_id::connections_active], 2u);

    // Both rows are this process's: retiring it folds both.
    table->retire(::getpid());
    snapshot after = take_snapshot(*table);
    EXPECT_TRUE(after.workers.empty());
    EXPECT_EQ(after.total[counter_id::sent_bytes], 123u) << "a counter went backwards";
    EXPECT_EQ(after.total[gauge_id::connections_active], 0u) << "a level outlived its worker";

    // A row taken again starts from zero; the totals go on from the retired ones.
    worker_row* c = table->join();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ((*c)[counter_id::sent_bytes].get(), 0u);
    (*c)[counter_id::sent_bytes].add(7);
    EXPECT_EQ(take_snapshot(*table).total[counter_id::sent_bytes], 130u);
}

TEST(MetricsTable, ForkedProcessesCountIntoTheOneTable) {
    auto table = metrics_table::create();
    constexpr int children = 3;
    pid_t pids[children];
    for (int i = 0; i < children; ++i) {
        pids[i] = ::fork();
        ASSERT_GE(pids[i], 0);
        if (pids[i] == 0) {
            worker_row* row = table->join();
            if (row == nullptr) ::_exit(1);
            for (int n = 0; n <= i; ++n) row->request_answered(200, 10);
            row->set_state(run_state::serving);
            ::_exit(0);
        }
    }
    for (const pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    snapshot live = take_snapshot(*table);
    EXPECT_EQ(live.workers.size(), 3u);  // exited, not yet retired by the master
    EXPECT_EQ(live.total[counter_id::requests], 1u + 2u + 3u);
    for (const pid_t pid : pids) table->retire(pid);
    snapshot retired = take_snapshot(*table);
    EXPECT_TRUE(retired.workers.empty());
    EXPECT_EQ(retired.total[counter_id::requests], 6u);
    EXPECT_EQ(retired.total[counter_id::responses_2xx], 6u);
    EXPECT_EQ(retired.total[histogram_id::request_duration].count(), 6u);
}

TEST(MetricsTable, ReadyOnlyWhileTheProcessAndAWorkerServe) {
    auto table = metrics_table::create();
    EXPECT_FALSE(ready(*table));
    table->process().set_state(run_state::serving);
    EXPECT_FALSE(ready(*table)) << "no worker serves yet";
    worker_row* row = table->join();
    ASSERT_NE(row, nullptr);
    EXPECT_FALSE(ready(*table)) << "the worker is starting";
    row->set_state(run_state::serving);
    EXPECT_TRUE(ready(*table));
    table->process().set_state(run_state::draining);
    EXPECT_FALSE(ready(*table));
}

TEST(MetricsTable, LocalCountsIntoAScratchRowUntilJoined) {
    auto table = metrics_table::create();
    install(table.get());
    local()[counter_id::requests].add();  // before joining: nowhere anyone reads
    EXPECT_EQ(take_snapshot(*table).total[counter_id::requests], 0u);
    ASSERT_TRUE(join_local());
    local()[counter_id::requests].add();
    EXPECT_EQ(take_snapshot(*table).total[counter_id::requests], 1u);
    ASSERT_NE(own_process(), nullptr) << "the table was made in this process";
    set_local_state(run_state::serving);
    EXPECT_TRUE(ready(*table));
    install(nullptr);
}

TEST(SharedText, KeepsTextUpToItsSize) {
    shared_text<8> text;
    text.set("hello");
    char out[8];
    EXPECT_EQ(text.get(out), 5u);
    EXPECT_STREQ(out, "hello");
    text.set("much longer than eight");
    EXPECT_EQ(text.get(out), 7u);
    EXPECT_STREQ(out, "much lo");
}

}  // namespace
}  // namespace fcgid::observe
