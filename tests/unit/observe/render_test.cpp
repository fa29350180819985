#include "observe/render.hpp"

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "observe/metrics_table.hpp"

namespace fcgid::observe {
namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A table with two live workers and one retired one.
class Rendering : public ::testing::Test {
protected:
    void SetUp() override {
        table_ = metrics_table::create();
        table_->process().set_state(run_state::serving);
        table_->process().workers_configured.store(2);
        (*table_).process()[process_counter_id::reloads].add();
        worker_row* a = table_->join();
        worker_row* b = table_->join();
        a->set_state(run_state::serving);
        b->set_state(run_state::draining);
        a->plugin_name.set("hello \"quoted\"");
        a->plugin_version.set("1.2");
        a->request_answered(200, 300);    // 0.5 ms bucket
        a->request_answered(200, 2'000);  // 2.5 ms bucket
        b->request_answered(404, 70'000'000);  // +Inf
        (*a)[gauge_id::connections_active].set(3);
        (*b)[counter_id::received_bytes].add(1000);
    }

    snapshot take() const { return take_snapshot(*table_); }

    std::unique_ptr<metrics_table> table_;
};

TEST(RenderOptions, ComeFromTheQueryString) {
    EXPECT_EQ(options_from_query("").as, format::text);
    EXPECT_FALSE(options_from_query("").full);
    EXPECT_EQ(options_from_query("json").as, format::json);
    const render_options both = options_from_query("json&full");
    EXPECT_EQ(both.as, format::json);
    EXPECT_TRUE(both.full);
    EXPECT_EQ(options_from_query("full&openmetrics").as, format::openmetrics);
    EXPECT_EQ(options_from_query("prometheus=1").as, format::prometheus);
    EXPECT_EQ(options_from_query("html&xml").as, format::text) << "unknown words are ignored";
}

TEST(RenderOptions, AcceptHeaderChoosesOpenMetricsOnlyWhenAsked) {
    EXPECT_EQ(format_from_accept("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
              format::openmetrics);
    EXPECT_EQ(format_from_accept("text/plain"), format::prometheus);
    EXPECT_EQ(format_from_accept(""), format::prometheus);
    EXPECT_EQ(content_type(format::openmetrics), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    EXPECT_EQ(content_type(format::prometheus), "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(Rendering, JsonHasTotalsAndWorkersWhenFull) {
    const auto doc = nlohmann::json::parse(render_json(take(), true));
    EXPECT_EQ(doc["state"], "serving");
    EXPECT_EQ(doc["ready"], true);
    EXPECT_EQ(doc["reloads"], 1);
    EXPECT_EQ(doc["plugin"]["name"], "hello \"quoted\"");
    EXPECT_EQ(doc["total"]["requests"], 3);
    EXPECT_EQ(doc["total"]["responses_2xx"], 2);
    EXPECT_EQ(doc["total"]["responses_4xx"], 1);
    EXPECT_EQ(doc["total"]["connections_active"], 3);
    EXPECT_EQ(doc["total"]["received_bytes"], 1000);
    EXPECT_EQ(doc["total"]["request_duration"]["count"], 3);
    const auto& buckets = doc["total"]["request_duration"]["buckets"];
    EXPECT_EQ(buckets.front()["count"], 1);
    EXPECT_EQ(buckets.back()["le"], "+Inf");
    EXPECT_EQ(buckets.back()["count"], 3) << "buckets are cumulative";
    ASSERT_EQ(doc["workers"].size(), 2u);
    EXPECT_EQ(doc["workers"][0]["requests"], 2);
    EXPECT_EQ(doc["workers"][1]["state"], "draining");
    EXPECT_EQ(doc["workers"][0]["pid"], ::getpid());
    EXPECT_FALSE(nlohmann::json::parse(render_json(take(), false)).contains("workers"));
}

TEST_F(Rendering, PrometheusNamesCountersWithTotalEverywhere) {
    const std::string text = render_exposition(take(), false, false);
    EXPECT_TRUE(contains(text, "# TYPE fcgid_requests_total counter\nfcgid_requests_total 3\n")) << text;
    EXPECT_TRUE(contains(text, "fcgid_responses_total{class=\"2xx\"} 2\n")) << text;
    EXPECT_TRUE(contains(text, "# TYPE fcgid_build_info gauge\n")) << text;
    EXPECT_TRUE(contains(text, "plugin=\"hello \\\"quoted\\\"\"")) << "label values escaped: " << text;
    EXPECT_TRUE(contains(text, "fcgid_request_duration_seconds_bucket{le=\"+Inf\"} 3\n")) << text;
    EXPECT_TRUE(contains(text, "fcgid_request_duration_seconds_count 3\n")) << text;
    EXPECT_TRUE(contains(text, "fcgid_worker_restarts_total{reason=\"crash\"} 0\n")) << text;
    EXPECT_FALSE(contains(text, "# EOF"));
    EXPECT_FALSE(contains(text, "worker=\"")) << "per worker only with full";
}

TEST_F(Rendering, OpenMetricsNamesCounterFamiliesWithoutTotalAndEnds) {
    const std::string text = render_exposition(take(), true, true);
    EXPECT_TRUE(contains(text, "# TYPE fcgid_requests counter\nfcgid_requests_total 3\n")) << text;
    EXPECT_TRUE(contains(text, "# TYPE fcgid_build info\nfcgid_build_info{")) << text;
    EXPECT_TRUE(contains(text, "# TYPE fcgid_request_duration_seconds histogram\n")) << text;
    const std::string worker = "worker=\"0\",pid=\"" + std::to_string(::getpid()) + "\"";
    EXPECT_TRUE(contains(text, "fcgid_worker_requests_total{" + worker + "} 2\n")) << text;
    EXPECT_TRUE(contains(text, "fcgid_worker_state{" + worker + ",state=\"serving\"} 1\n")) << text;
    ASSERT_GE(text.size(), 6u);
    EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

TEST_F(Rendering, TextIsATableWithTheTotals) {
    const std::string text = render_text(take(), true);
    EXPECT_TRUE(contains(text, "state:                    serving (ready)\n")) << text;
    EXPECT_TRUE(contains(text, "requests:                 3\n")) << text;
    EXPECT_TRUE(contains(text, "\nworker 1\n")) << text;
}

TEST(RenderMetrics, IsEmptyWithoutAnInstalledTable) {
    install(nullptr);
    EXPECT_EQ(render_metrics(format::prometheus, false), "");
    EXPECT_FALSE(ready());
}

}  // namespace
}  // namespace fcgid::observe
