// The bytes of one request: BEGIN_REQUEST, PARAMS, the empty PARAMS, the
// body in STDIN records (none for a GET), the empty STDIN, as nginx sends them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fcgi_bench {

using param_list = std::vector<std::pair<std::string, std::string>>;

// What nginx's fastcgi_params (Debian 12) sends for GET `uri` to a server on
// 127.0.0.1:80, plus SCRIPT_FILENAME; `overrides` replace or add by name.
param_list default_params(std::string_view uri, const param_list& overrides);

// A name-value pair as the spec encodes it (1- or 4-byte lengths).
void append_name_value(std::string& out, std::string_view name, std::string_view value);

// Appends one record header; padding keeps records 8-byte aligned, as the
// spec recommends and nginx does.
void append_record(std::string& out, std::uint8_t type, std::uint16_t id, std::string_view content);

// The whole request with `body_size` body bytes. Encoded once per request
// id; sends point into it.
std::string encode_request(std::uint16_t id, bool keep_conn, const param_list& params,
                           std::uint64_t body_size = 0);

}  // namespace fcgi_bench
