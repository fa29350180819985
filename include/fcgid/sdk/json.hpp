// fcgid/sdk/json.hpp: JSON bodies with nlohmann-json (Debian's
// nlohmann-json3-dev). Optional: include it, and link
// nlohmann_json::nlohmann_json, only in plugins that use it.
//
//     nlohmann::json in = req.json();            // 400 with the parser's message if malformed
//     res.status(201).json({{"id", 7}});          // Content-Type: application/json
//
// Bounded: nesting deeper than parse_limits::max_json_depth (default 256) is
// a 400 before it is built, so a hostile body cannot exhaust the stack when
// the value is later printed or destroyed. The body's size is bounded by
// fcgid's --max-body-size.
#ifndef FCGID_SDK_JSON_HPP
#define FCGID_SDK_JSON_HPP

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fcgid/sdk/http_error.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"

namespace fcgid::sdk::detail {

template <class Dummy>
struct json_support {
    static nlohmann::json parse(std::string_view body, const parse_limits& limits) {
        const std::size_t max_depth = limits.max_json_depth;
        const auto bounded = [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
            if (static_cast<std::size_t>(depth) > max_depth)
                throw http_error(400, "malformed JSON body: nested deeper than " + std::to_string(max_depth) +
                                          " levels");
            return true;
        };
        try {
            return nlohmann::json::parse(body.begin(), body.end(), bounded);
        } catch (const nlohmann::json::exception& e) {
            throw http_error(400, std::string("malformed JSON body: ") + e.what());
        }
    }
};

}  // namespace fcgid::sdk::detail

#endif  // FCGID_SDK_JSON_HPP
