// What each figure of the metrics table is called where it is shown: its
// key in the JSON and text status, and its metric family for Prometheus and
// OpenMetrics (without _total: the renderers add it where the format wants
// it). Entries that share a family differ by one label, and are adjacent,
// as both text formats require of a family's samples.
#pragma once

#include <array>
#include <string_view>

#include "observe/metrics_table.hpp"

namespace fcgid::observe {

struct metric_name {
    std::string_view key;     // JSON and text status
    std::string_view family;  // fcgid_..., without _total
    std::string_view label;   // name="value" telling apart entries of one family, or empty
    std::string_view help;
};

inline constexpr std::array<metric_name, counter_count> counter_names = {{
    {"requests", "fcgid_requests", "", "Requests answered (status and ping requests included)"},
    {"responses_1xx", "fcgid_responses", "class=\"1xx\"", "Requests answered, by status class"},
    {"responses_2xx", "fcgid_responses", "class=\"2xx\"", ""},
    {"responses_3xx", "fcgid_responses", "class=\"3xx\"", ""},
    {"responses_4xx", "fcgid_responses", "class=\"4xx\"", ""},
    {"responses_5xx", "fcgid_responses", "class=\"5xx\"", ""},
    {"overloaded", "fcgid_overloaded_requests", "",
     "Requests refused with FCGI_OVERLOADED (--max-requests, --max-conn-requests)"},
    {"body_too_large", "fcgid_body_too_large_requests", "", "Requests answered 413 (--max-body-size)"},
    {"request_timeouts", "fcgid_request_timeouts", "",
     "Requests answered 504, or cut short, at --request-timeout"},
    {"read_timeouts", "fcgid_connection_timeouts", "kind=\"read\"",
     "Connections closed by a timeout, by kind (--read-timeout, --write-timeout, --idle-timeout)"},
    {"write_timeouts", "fcgid_connection_timeouts", "kind=\"write\"", ""},
    {"idle_timeouts", "fcgid_connection_timeouts", "kind=\"idle\"", ""},
    {"protocol_errors", "fcgid_protocol_errors", "", "Connections closed on a malformed FastCGI record"},
    {"aborted_requests", "fcgid_aborted_requests", "",
     "Requests aborted by the web server, or whose connection closed before the answer"},
    {"received_bytes", "fcgid_received_bytes", "", "Bytes received from web servers"},
    {"sent_bytes", "fcgid_sent_bytes", "", "Bytes sent to web servers"},
    {"connections_accepted", "fcgid_connections_accepted", "", "Connections accepted"},
    {"connections_refused", "fcgid_connections_refused", "",
     "Connections refused by --allow (FCGI_WEB_SERVER_ADDRS)"},
    {"max_connections_reached", "fcgid_max_connections_reached", "",
     "Times accepting paused at --max-connections"},
    {"slow_requests", "fcgid_slow_requests", "", "Requests slower than --slow-request-time"},
    {"loop_stalls", "fcgid_loop_stalls", "", "Plugin callbacks that held the loop past --stall-warning"},
    {"access_log_dropped", "fcgid_access_log_dropped_lines", "",
     "Access log lines dropped because the disk could not keep up"},
}};

inline constexpr std::array<metric_name, gauge_count> gauge_names = {{
    {"requests_in_flight", "fcgid_requests_in_flight", "", "Requests received and not yet answered"},
    {"requests_deferred", "fcgid_requests_deferred", "",
     "Requests the plugin holds after handle() returned (FCGID_DEFERRED)"},
    {"connections_active", "fcgid_connections_active", "", "Connections open now"},
}};

inline constexpr std::array<metric_name, histogram_count> histogram_names = {{
    {"request_duration", "fcgid_request_duration_seconds", "",
     "Time from BEGIN_REQUEST to the answer's end, in seconds"},
    {"handle_duration", "fcgid_handle_duration_seconds", "", "Time inside the plugin's handle(), in seconds"},
}};

inline constexpr std::array<metric_name, process_counter_count> process_counter_names = {{
    {"reloads", "fcgid_reloads", "", "SIGHUP reloads (rolling restarts with --workers) done"},
    {"reload_failures", "fcgid_reload_failures", "", "SIGHUP reloads that failed (the old code kept serving)"},
    {"worker_restarts_limit", "fcgid_worker_restarts", "reason=\"limit\"",
     "Workers replaced, by reason: limit (a limit recycled it), crash, reload, failed_start"},
    {"worker_restarts_crash", "fcgid_worker_restarts", "reason=\"crash\"", ""},
    {"worker_restarts_reload", "fcgid_worker_restarts", "reason=\"reload\"", ""},
    {"worker_failed_starts", "fcgid_worker_restarts", "reason=\"failed_start\"", ""},
    {"stall_kills", "fcgid_stall_kills", "", "Workers killed by --stall-kill"},
}};

}  // namespace fcgid::observe
