// upload: forms, file uploads, cookies and files sent by the web server, on
// the fcgid C++ SDK; the example to copy for a browser-facing app.
//
//   GET  /              an HTML page with two forms; counts your visits in a
//                       cookie ("visits")
//   POST /upload        multipart/form-data (a text field and a file field):
//                       answers one line per part with its name, filename,
//                       content type, size and FNV-1a checksum
//   POST /message       an urlencoded form: keeps the message, then redirects
//                       back to the page with 303 (POST-redirect-GET: reloading
//                       the page does not post the form again)
//   GET  /files/{name}  lets nginx send the file: X-Accel-Redirect to the
//                       internal location /protected/{name}
//
// The nginx side (fcgid run --plugin upload.so --port 5000 --max-body-size 64m):
//
//   client_max_body_size 64m;          # nginx's default, 1m, refuses larger uploads
//   location / { include fastcgi_params; fastcgi_pass 127.0.0.1:5000; }
//   location /protected/ { internal; alias /srv/files/; }   # only via X-Accel-Redirect
//
// The SDK parses the cookies, the urlencoded form and the multipart body
// when first asked, from the body fcgid already holds: the parts' data are
// views into it, nothing is copied. A malformed body is a 400 naming what is
// wrong ("malformed multipart body: ...").
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fcgid/sdk.hpp"

namespace {

namespace sdk = fcgid::sdk;

// FNV-1a, 64 bits, as 16 hex digits: a checksum a test recomputes in a few
// lines. Not a cryptographic hash; use one for anything an attacker chooses.
std::string fnv1a64(std::string_view data) {
    std::uint64_t hash = 0xcbf29ce484222325;
    for (const unsigned char c : data) {
        hash ^= c;
        hash *= 0x100000001b3;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

// Text for an HTML page: what a visitor typed must not become markup.
std::string html_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// A file name we hand to nginx: letters, digits, '.', '_' and '-', not
// starting with '.', so it can only name a file directly in the directory.
bool is_plain_file_name(std::string_view name) {
    if (name.empty() || name.front() == '.') return false;
    for (const char c : name) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '.' || c == '_' || c == '-';
        if (!plain) return false;
    }
    return true;
}

// The cookie's count, or 0 when it is absent or not a count we wrote.
unsigned long visits_of(const sdk::request& req) {
    const std::string_view text = req.cookie("visits").value_or("0");
    unsigned long visits = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), visits);
    if (ec != std::errc() || end != text.data() + text.size() || visits >= 1'000'000'000) return 0;
    return visits;
}

void setup(sdk::app& app) {
    // The last messages posted. Every handler here runs on the loop thread,
    // one at a time, so this needs no lock.
    auto messages = std::make_shared<std::deque<std::string>>();

    app.get("/", [messages](sdk::request& req, sdk::response& res) {
        const std::string visits = std::to_string(visits_of(req) + 1);
        // Set-Cookie: visits=N; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax
        res.cookie({.name = "visits",
                    .value = visits,
                    .path = "/",
                    .max_age = 365L * 24 * 3600,
                    .http_only = true,  // not readable by the page's scripts
                    .same_site = sdk::same_site_policy::lax});

        std::string page =
            "<!doctype html>\n<title>fcgid upload example</title>\n"
            "<p>Visit number " + visits + ".</p>\n"
            // Relative actions: the forms work under any mount (--plugin-option mount=/app).
            "<form method=\"post\" action=\"upload\" enctype=\"multipart/form-data\">\n"
            "  <input name=\"note\"> <input type=\"file\" name=\"file\"> <button>Upload</button>\n"
            "</form>\n"
            "<form method=\"post\" action=\"message\">\n"
            "  <input name=\"text\"> <button>Post a message</button>\n"
            "</form>\n<ul>\n";
        for (const std::string& m : *messages) page += "  <li>" + html_escape(m) + "</li>\n";
        page += "</ul>\n";
        res.send(200, page, "text/html; charset=utf-8");
    });

    // One line per part, for example
    //   name=file filename=photo.jpg content_type=image/jpeg size=5242880 fnv1a64=0123456789abcdef
    app.post("/upload", [](sdk::request& req, sdk::response& res) {
        std::string out;
        for (const sdk::form_part& part : req.multipart()) {  // 400 unless a well-formed multipart body
            out += "name=" + std::string(part.name);
            if (part.filename) out += " filename=" + std::string(*part.filename);
            out += " content_type=" + std::string(part.content_type);
            out += " size=" + std::to_string(part.data.size());
            out += " fnv1a64=" + fnv1a64(part.data) + "\n";
        }
        res.send(200, out);
    });

    app.post("/message", [messages](sdk::request& req, sdk::response& res) {
        const auto text = req.form_value("text");  // from the urlencoded body
        if (!text || text->empty()) throw sdk::http_error(400, "the form has no \"text\"");
        messages->emplace_back(*text);
        if (messages->size() > 10) messages->pop_front();
        // "./" is the page itself, whatever the mount: /message -> /, /app/message -> /app/.
        res.redirect("./", 303);
    });

    app.get("/files/{name}", [](sdk::request& req, sdk::response& res) {
        const std::string_view name = *req.path_value("name");
        if (!is_plain_file_name(name)) throw sdk::http_error(404, "no such file");
        // A real app checks here that this visitor may have the file. nginx
        // then sends it from disk (sendfile, ranges, caching headers) while
        // fcgid goes on serving other requests.
        res.x_accel_redirect("/protected/" + std::string(name));
    });
}

}  // namespace

FCGID_APP("upload", "1.0.0", setup)
