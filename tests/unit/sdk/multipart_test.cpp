// Tests include/fcgid/sdk/multipart.hpp: multipart/form-data framing (RFC
// 2046 section 5.1.1), part headers and Content-Disposition (RFC 7578), the
// limits, and every truncation of a body.
#include "fcgid/sdk/multipart.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "support/bytes.hpp"

namespace fcgid::sdk {
namespace {

constexpr std::string_view form_type = "multipart/form-data; boundary=XyZ";

// A body from lines joined with CRLF (none added after the last).
std::string crlf(std::initializer_list<std::string_view> lines) {
    std::string out;
    bool first = true;
    for (const std::string_view line : lines) {
        if (!first) out += "\r\n";
        first = false;
        out += line;
    }
    return out;
}

const std::string two_fields = crlf({
    "--XyZ",
    "Content-Disposition: form-data; name=\"title\"",
    "",
    "Hello",
    "--XyZ",
    "Content-Disposition: form-data; name=\"upload\"; filename=\"a b.txt\"",
    "Content-Type: application/octet-stream",
    "",
    "line 1\r\nline 2",
    "--XyZ--",
    "",
});

// Parses `body` from an exact-size copy and checks that every view the form
// holds from the body is inside it.
struct parsed {
    test::exact_copy copy;
    result<multipart_form> form;

    parsed(std::string_view body, const parse_limits& limits = {}, std::string_view type = form_type)
        : copy(body), form(parse_multipart(type, copy.view(), limits)) {
        if (!form) return;
        const auto inside = [this](std::string_view s) {
            return s.data() >= copy.data() && s.data() + s.size() <= copy.data() + copy.size();
        };
        for (const form_part& p : *form) {
            EXPECT_TRUE(inside(p.data));
            for (const part_header& h : p.headers) EXPECT_TRUE(inside(h.name) && inside(h.value));
        }
    }
};

parse_error error_of(std::string_view body, const parse_limits& limits = {}, std::string_view type = form_type) {
    const parsed p(body, limits, type);
    EXPECT_FALSE(p.form.ok()) << body;
    return p.form.ok() ? parse_error(parse_errc{}) : p.form.error();
}

TEST(multipart, two_fields_one_a_file) {
    const parsed p(two_fields);
    ASSERT_TRUE(p.form.ok()) << p.form.error().message();
    const multipart_form& f = *p.form;
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].name, "title");
    EXPECT_EQ(f[0].data, "Hello");
    EXPECT_FALSE(f[0].filename.has_value());
    EXPECT_EQ(f[0].content_type, "text/plain");
    ASSERT_EQ(f[0].headers.size(), 1u);
    EXPECT_EQ(f[1].name, "upload");
    EXPECT_EQ(f[1].filename, "a b.txt");
    EXPECT_EQ(f[1].content_type, "application/octet-stream");
    EXPECT_EQ(f[1].data, "line 1\r\nline 2");
    EXPECT_EQ(f[1].headers.get("content-type"), "application/octet-stream");
    EXPECT_EQ(f[1].headers.get("X-Missing"), std::nullopt);
    EXPECT_EQ(f.find("upload"), &f[1]);
    EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(multipart, data_is_a_view_into_the_body) {
    const result<multipart_form> r = parse_multipart(form_type, two_fields);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].data.data(), two_fields.data() + two_fields.find("Hello"));
    EXPECT_EQ((*r)[1].name.data(), two_fields.data() + two_fields.find("upload"));
}

TEST(multipart, moving_the_form_keeps_headers_and_decoded_names) {
    const std::string body = crlf({"--XyZ", R"(Content-Disposition: form-data; name="q\"n"; filename*=UTF-8''%41)",
                                   "", "d", "--XyZ--"});
    result<multipart_form> r = parse_multipart(form_type, body);
    ASSERT_TRUE(r.ok());
    multipart_form moved = std::move(r).value();
    multipart_form again = std::move(moved);
    EXPECT_EQ(again[0].name, "q\"n");
    EXPECT_EQ(again[0].filename, "A");
    EXPECT_EQ(again[0].headers.size(), 1u);
    EXPECT_EQ(again[0].headers.begin()->name, "Content-Disposition");
}

TEST(multipart, preamble_and_epilogue_are_ignored) {
    const std::string body = "This is the preamble.\r\nIt has --XyZ-like text.\r\n" + two_fields +
                             "epilogue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"ignored\"\r\n\r\nx";
    const parsed p(body);
    ASSERT_TRUE(p.form.ok()) << p.form.error().message();
    EXPECT_EQ(p.form->size(), 2u);
}

TEST(multipart, empty_data_and_empty_form) {
    const parsed p(crlf({"--XyZ", "Content-Disposition: form-data; name=\"e\"", "", "", "--XyZ--"}));
    ASSERT_TRUE(p.form.ok());
    EXPECT_EQ((*p.form)[0].data, "");
    const parsed none("--XyZ--");
    ASSERT_TRUE(none.form.ok());
    EXPECT_TRUE(none.form->empty());
}

TEST(multipart, binary_data_with_near_boundaries) {
    const std::string data = std::string("\0\r\n--XyZa\r\n--XY\r\n-XyZ\r\n--XyZ-x\r\n", 32) + "\xff";
    const std::string body = crlf({"--XyZ", "Content-Disposition: form-data; name=\"bin\"", "", data, "--XyZ--"});
    const parsed p(body);
    ASSERT_TRUE(p.form.ok()) << p.form.error().message();
    EXPECT_EQ((*p.form)[0].data, data);
}

TEST(multipart, transport_padding_after_boundaries) {
    const std::string body =
        crlf({"--XyZ \t", "Content-Disposition: form-data; name=\"a\"", "", "1", "--XyZ  ", "Content-Disposition: form-data; name=\"b\"",
              "", "2", "--XyZ--  junk"});
    const parsed p(body);
    ASSERT_TRUE(p.form.ok()) << p.form.error().message();
    ASSERT_EQ(p.form->size(), 2u);
    EXPECT_EQ((*p.form)[1].data, "2");
}

TEST(multipart, boundary_parameter_forms) {
    const std::string body = crlf({"--a b'()+_,-./:=?", "Content-Disposition: form-data; name=\"a\"", "", "1",
                                   "--a b'()+_,-./:=?--"});
    EXPECT_TRUE(parsed(body, {}, "multipart/form-data; boundary=\"a b'()+_,-./:=?\"").form.ok());
    EXPECT_TRUE(parsed(two_fields, {}, "Multipart/Form-Data; charset=utf-8; BOUNDARY=XyZ").form.ok());
    const std::string seventy(70, 'b');
    const std::string long_body = "--" + seventy + "--";
    EXPECT_TRUE(parsed(long_body, {}, "multipart/form-data; boundary=" + seventy).form.ok());
    EXPECT_EQ(error_of(long_body, {}, "multipart/form-data; boundary=" + seventy + "b").code,
              parse_errc::invalid_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data; boundary=\"\"").code, parse_errc::invalid_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data; boundary=\"ends \"").code, parse_errc::invalid_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data; boundary=\"a;b\"").code, parse_errc::invalid_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data; boundary=\"a\\\"b\"").code, parse_errc::invalid_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data").code, parse_errc::missing_boundary);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/mixed; boundary=XyZ").code, parse_errc::not_multipart_form_data);
    EXPECT_EQ(error_of(two_fields, {}, "text/plain").code, parse_errc::not_multipart_form_data);
    EXPECT_EQ(error_of(two_fields, {}, "").code, parse_errc::empty_header_value);
    EXPECT_EQ(error_of(two_fields, {}, "multipart/form-data; boundary=\"XyZ").code,
              parse_errc::unterminated_quoted_string);
}

TEST(multipart, filenames) {
    const std::string body = crlf({
        "--XyZ",
        R"(Content-Disposition: form-data; name="a"; filename="say \"hi\".txt")",
        "",
        "1",
        "--XyZ",
        R"(Content-Disposition: form-data; name="b"; filename="fallback.txt"; filename*=UTF-8''%e2%82%ac.txt)",
        "",
        "2",
        "--XyZ",
        R"(Content-Disposition: form-data; name="c"; filename="")",
        "",
        "",
        "--XyZ",
        R"(Content-Disposition: form-data; name="d"; filename="C:\dir\x.txt"; filename*=KOI8-R''%C1)",
        "",
        "",
        "--XyZ",
        R"(content-disposition: FORM-DATA; NAME=e; FILENAME=plain.txt)",
        "",
        "",
        "--XyZ--",
    });
    const parsed p(body);
    ASSERT_TRUE(p.form.ok()) << p.form.error().message();
    const multipart_form& f = *p.form;
    ASSERT_EQ(f.size(), 5u);
    EXPECT_EQ(f[0].filename, "say \"hi\".txt");
    EXPECT_EQ(f[1].filename, "\xe2\x82\xac.txt") << "filename* wins (RFC 6266 section 4.3)";
    EXPECT_EQ(f[2].filename, "") << "present but empty: a file input left empty";
    EXPECT_EQ(f[3].filename, R"(C:\dir\x.txt)") << "unknown charset: falls back to filename";
    EXPECT_EQ(f[4].name, "e");
    EXPECT_EQ(f[4].filename, "plain.txt");
}

TEST(multipart, part_errors_name_the_part) {
    const auto body_with = [](std::string_view second_part_headers) {
        return crlf({"--XyZ", "Content-Disposition: form-data; name=\"ok\"", "", "1", "--XyZ"}) + "\r\n" +
               std::string(second_part_headers) + "\r\n\r\n2\r\n--XyZ--";
    };
    const auto expect = [&](std::string_view headers, parse_errc code) {
        const parse_error e = error_of(body_with(headers));
        EXPECT_EQ(e.code, code) << headers;
        EXPECT_EQ(e.index, 2u) << headers;
    };
    expect("Content-Type: text/plain", parse_errc::missing_content_disposition);
    expect("Content-Disposition: attachment; name=\"x\"", parse_errc::not_form_data_disposition);
    expect("Content-Disposition: form-data; filename=\"x\"", parse_errc::missing_part_name);
    expect("Content-Disposition: form-data; name=\"x", parse_errc::unterminated_quoted_string);
    expect("Content-Disposition: form-data; name=\"x\"\r\nContent-Disposition: form-data; name=\"y\"",
           parse_errc::duplicate_content_disposition);
    expect("Content-Disposition: form-data; name=\"x\"\r\nno colon here", parse_errc::invalid_part_header);
    expect("Content-Disposition : form-data; name=\"x\"", parse_errc::invalid_part_header);
    expect("Content-Disposition: form-data;\r\n name=\"x\"", parse_errc::invalid_part_header);
    expect(": empty name", parse_errc::invalid_part_header);
    expect("X-Bad: a\rb", parse_errc::invalid_part_header);
    EXPECT_EQ(error_of(body_with("Content-Type: text/plain")).message(),
              "multipart: part has no Content-Disposition header (part 2)");
    EXPECT_EQ(error_of(body_with("Content-Disposition: form-data; name=\"x")).message(),
              "header: quoted string without its closing quote (part 2)");
    EXPECT_EQ(error_of("").message(), "multipart: body has no boundary line") << "about the whole body: no number";
    // A part without any header line.
    EXPECT_EQ(error_of(crlf({"--XyZ", "", "data", "--XyZ--"})).code, parse_errc::missing_content_disposition);
}

TEST(multipart, framing_errors) {
    EXPECT_EQ(error_of("").code, parse_errc::missing_first_boundary);
    EXPECT_EQ(error_of("no boundary here").code, parse_errc::missing_first_boundary);
    EXPECT_EQ(error_of("--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--\n").code,
              parse_errc::missing_first_boundary)
        << "bare LF line ends are not multipart";
    EXPECT_EQ(error_of("--XyZX\r\n").code, parse_errc::missing_first_boundary);
    EXPECT_EQ(error_of(crlf({"--XyZ", "Content-Disposition: form-data; name=a", "", "x"})).code,
              parse_errc::missing_final_boundary);
    EXPECT_EQ(error_of(crlf({"--XyZ", "Content-Disposition: form-data; name=a", "", "x", "--XyZ"})).code,
              parse_errc::missing_final_boundary);
    EXPECT_EQ(error_of(crlf({"--XyZ", "Content-Disposition: form-data; name=a"})).code,
              parse_errc::missing_final_boundary);
}

TEST(multipart, too_many_parts) {
    parse_limits limits;
    limits.max_parts = 2;
    std::string body;
    for (int i = 0; i < 3; ++i) body += "--XyZ\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
    const parse_error e = error_of(body + "--XyZ--", limits);
    EXPECT_EQ(e.code, parse_errc::too_many_parts);
    EXPECT_EQ(e.index, 3u);
    limits.max_parts = 3;
    EXPECT_TRUE(parsed(body + "--XyZ--", limits).form.ok());
    std::string hundred_and_one;
    for (int i = 0; i < 101; ++i) hundred_and_one += "--XyZ\r\nContent-Disposition: form-data; name=p\r\n\r\n\r\n";
    EXPECT_EQ(error_of(hundred_and_one + "--XyZ--").code, parse_errc::too_many_parts) << "default 100";
}

TEST(multipart, header_bytes_limit_counts_the_empty_line) {
    const std::string headers = "Content-Disposition: form-data; name=\"a\"\r\n\r\n";  // 44 bytes
    const std::string body = "--XyZ\r\n" + headers + "x\r\n--XyZ--";
    parse_limits limits;
    limits.max_part_header_bytes = headers.size();
    EXPECT_TRUE(parsed(body, limits).form.ok());
    limits.max_part_header_bytes = headers.size() - 1;
    const parse_error e = error_of(body, limits);
    EXPECT_EQ(e.code, parse_errc::part_headers_too_long);
    EXPECT_EQ(e.index, 1u);
    // The default, 8 KiB, against a header that never ends.
    EXPECT_EQ(error_of("--XyZ\r\nX-Long: " + std::string(10000, 'a') + "\r\n\r\n\r\n--XyZ--").code,
              parse_errc::part_headers_too_long);
}

TEST(multipart, header_count_limit) {
    std::string headers = "Content-Disposition: form-data; name=\"a\"\r\n";
    for (int i = 1; i < 16; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_TRUE(parsed("--XyZ\r\n" + headers + "\r\nx\r\n--XyZ--").form.ok()) << "16 lines: the default limit";
    const parse_error e = error_of("--XyZ\r\n" + headers + "X-17: v\r\n\r\nx\r\n--XyZ--");
    EXPECT_EQ(e.code, parse_errc::too_many_part_headers);
    EXPECT_EQ(e.index, 1u);
}

TEST(multipart, every_truncation_fails_cleanly_until_the_closing_boundary) {
    const std::string body = "preamble\r\n" + two_fields + "epilogue";
    const std::size_t close_end = body.find("--XyZ--") + 7;
    const parsed whole(body);
    ASSERT_TRUE(whole.form.ok());
    for (std::size_t n = 0; n <= body.size(); ++n) {
        const parsed cut(std::string_view(body).substr(0, n));
        if (n < close_end) {
            ASSERT_FALSE(cut.form.ok()) << n;
            const parse_errc code = cut.form.error().code;
            EXPECT_TRUE(code == parse_errc::missing_first_boundary || code == parse_errc::missing_final_boundary)
                << n << ": " << cut.form.error().message();
        } else {
            ASSERT_TRUE(cut.form.ok()) << n;
            ASSERT_EQ(cut.form->size(), 2u);
            EXPECT_EQ((*cut.form)[1].data, (*whole.form)[1].data);
            EXPECT_EQ((*cut.form)[1].filename, "a b.txt");
        }
    }
}

TEST(multipart, hostile_bodies) {
    // Many almost-delimiters: linear-ish scanning, no error but the last.
    std::string body = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n";
    for (int i = 0; i < 20000; ++i) body += "\r\n--XyZ!";
    EXPECT_EQ(error_of(body).code, parse_errc::missing_final_boundary);
    EXPECT_EQ(error_of(std::string(100000, '\r')).code, parse_errc::missing_first_boundary);
    EXPECT_EQ(error_of(std::string(100000, '-')).code, parse_errc::missing_first_boundary);
}

}  // namespace
}  // namespace fcgid::sdk
