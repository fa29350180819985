#include "fcgi/error.hpp"

#include <string>

namespace fcgid::fcgi {
namespace {

class protocol_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "fcgid.protocol"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::need_more: return "need more input";
            case errc::bad_version: return "unsupported FastCGI protocol version";
            case errc::truncated_name_value: return "name-value pair runs past the end of its block";
            case errc::bad_begin_request: return "BEGIN_REQUEST body is not 8 bytes";
            case errc::bad_request_id: return "BEGIN_REQUEST with a request id that is 0 or in use";
            case errc::params_too_large: return "request params exceed the size limit";
            case errc::too_many_params: return "request has more params than the limit";
            case errc::stream_after_end: return "stream record after the end of its stream";
        }
        return "unknown FastCGI protocol error";
    }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
    static const protocol_category_impl category;
    return category;
}

}  // namespace fcgid::fcgi
