// fcgid/sdk/router.hpp: a request router over method and path, in the shape
// of Go 1.22's ServeMux.
//
//     sdk::router<handler_fn> r;
//     r.get("/users/{id}", show_user);
//     r.put("/files/{path...}", store_file);
//     auto m = r.match("GET", "/users/42");   // m.param("id") == "42"
//
// Patterns are made of '/'-separated segments, each one of:
//  - a literal, matched exactly (case-sensitive, no decoding);
//  - {name}, matching any one NON-EMPTY segment;
//  - {name...}, only as the last segment, matching the rest of the path,
//    slashes included, possibly empty ("/files/{p...}" matches "/files/"
//    but not "/files").
// A trailing slash is significant: "/a/" and "/a" are different patterns.
//
// PRECEDENCE: where several patterns match a path, a literal segment beats
// {name}, which beats {name...}, segment by segment from the left; among
// the routes that accept the request's method. For one pattern, a route for
// the exact method beats the GET route serving a HEAD request, which beats
// an any() route.
//
// RESULTS: found, with the handler and path parameters; not_found (404) when
// no pattern matches the path; method_not_allowed (405) when some do, but
// for other methods only, with the Allow header value listing them (HEAD
// whenever GET is there).
//
// COST: add() allocates; match() walks a trie, visiting each node at most
// once, and does not allocate unless it answers 405 (to build Allow).
// Parameters are views into the path passed to match(), and names into the
// router: a match_result must outlive neither.
//
// Registering the same method and pattern twice (parameter names aside), or a
// malformed pattern or method, throws std::invalid_argument from add().
// A router is not modified by match(), so concurrent matches are safe.
#ifndef FCGID_SDK_ROUTER_HPP
#define FCGID_SDK_ROUTER_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fcgid/sdk/ascii.hpp"

namespace fcgid::sdk {

// One path parameter: its name from the pattern, its value from the path.
struct path_param {
    std::string_view name;
    std::string_view value;
};

enum class route_status : std::uint8_t { found, not_found, method_not_allowed };

template <class Handler>
class router {
public:
    // Parameters per pattern; a fixed bound so match() needs no allocation.
    static constexpr std::size_t max_params = 8;
    // Distinct methods across all routes (they are a bit mask internally).
    static constexpr std::size_t max_methods = 64;

    class match_result {
    public:
        route_status status() const noexcept { return status_; }
        bool found() const noexcept { return status_ == route_status::found; }

        // The handler when found(), else nullptr. Points into the router.
        const Handler* handler() const noexcept { return handler_; }

        // The path parameters in pattern order.
        const path_param* begin() const noexcept { return params_.data(); }
        const path_param* end() const noexcept { return params_.data() + param_count_; }
        std::size_t param_count() const noexcept { return param_count_; }

        // The value of parameter `name`, like Go's Request.PathValue.
        std::optional<std::string_view> param(std::string_view name) const noexcept {
            for (const path_param& p : *this) {
                if (p.name == name) return p.value;
            }
            return std::nullopt;
        }

        // For method_not_allowed: the Allow header value, "GET, HEAD, POST".
        const std::string& allow() const noexcept { return allow_; }

    private:
        friend class router;
        route_status status_ = route_status::not_found;
        const Handler* handler_ = nullptr;
        std::array<path_param, max_params> params_{};
        std::size_t param_count_ = 0;
        std::string allow_;
    };

    router() = default;
    router(router&&) = default;
    router& operator=(router&&) = default;
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    // Routes `method` requests for paths matching `pattern` to `handler`.
    // `method` is a token such as "GET", or "*" for any method.
    void add(std::string_view method, std::string_view pattern, Handler handler) {
        const bool any_method = method == "*";
        if (!any_method && !ascii::is_token(method)) {
            throw std::invalid_argument("router: method [" + std::string(method) + "] is not a token");
        }
        route r{std::move(handler), {}, std::string(method) + " " + std::string(pattern)};
        node* n = insert(pattern, r.param_names);
        if (any_method) {
            if (n->any) throw conflict(r, *n->any);
            n->any = std::move(r);
            return;
        }
        const std::size_t id = intern_method(method);
        for (const auto& existing : n->routes) {
            if (existing.first == id) throw conflict(r, existing.second);
        }
        n->routes.emplace_back(id, std::move(r));
        n->methods |= std::uint64_t{1} << id;
    }

    void get(std::string_view pattern, Handler h) { add("GET", pattern, std::move(h)); }
    void post(std::string_view pattern, Handler h) { add("POST", pattern, std::move(h)); }
    void put(std::string_view pattern, Handler h) { add("PUT", pattern, std::move(h)); }
    void patch(std::string_view pattern, Handler h) { add("PATCH", pattern, std::move(h)); }
    void del(std::string_view pattern, Handler h) { add("DELETE", pattern, std::move(h)); }
    void any(std::string_view pattern, Handler h) { add("*", pattern, std::move(h)); }

    // Matches a request. `path` is the path alone (no query string), not
    // decoded again here; one that does not start with '/' is not found.
    match_result match(std::string_view method, std::string_view path) const {
        match_result out;
        if (path.empty() || path.front() != '/') return out;
        walk w{find_method(method), method == "HEAD" ? find_method("GET") : npos, path, out, 0};
        if (w.visit(root_, 1)) {
            out.status_ = route_status::found;
            return out;
        }
        out.param_count_ = 0;
        if (w.path_matched) {
            out.status_ = route_status::method_not_allowed;
            out.allow_ = allow_header(w.allowed);
        }
        return out;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    struct route {
        Handler handler;
        std::vector<std::string> param_names;
        std::string description;  // "GET /users/{id}", for conflict messages
    };

    struct node {
        std::vector<std::pair<std::string, std::unique_ptr<node>>> literals;  // sorted by segment
        std::unique_ptr<node> param;      // {name}
        std::unique_ptr<node> catch_all;  // {name...}; always a leaf
        std::vector<std::pair<std::size_t, route>> routes;  // by method id
        std::optional<route> any;
        std::uint64_t methods = 0;  // bit per method id in routes
    };

    // One match() in progress. Each trie node sits at a fixed depth, and the
    // path has one segment per depth, so each node is visited at most once.
    struct walk {
        std::size_t method;
        std::size_t get_method;  // for HEAD: GET's id, else npos
        std::string_view path;
        match_result& out;
        std::size_t depth;
        bool path_matched = false;
        std::uint64_t allowed = 0;

        // Matches the segments from `pos` (npos: none left) against node `n`.
        bool visit(const node& n, std::size_t pos) {
            if (pos == npos) return accept(n);
            const std::size_t slash = path.find('/', pos);
            const std::string_view segment = path.substr(pos, slash == npos ? npos : slash - pos);
            const std::size_t next = slash == npos ? npos : slash + 1;
            const auto it = std::lower_bound(n.literals.begin(), n.literals.end(), segment,
                                             [](const auto& child, std::string_view s) { return child.first < s; });
            if (it != n.literals.end() && it->first == segment && visit(*it->second, next)) return true;
            if (n.param && !segment.empty() && depth < max_params) {
                out.params_[depth++].value = segment;
                if (visit(*n.param, next)) return true;
                --depth;
            }
            if (n.catch_all && depth < max_params) {
                out.params_[depth++].value = path.substr(pos);
                if (accept(*n.catch_all)) return true;
                --depth;
            }
            return false;
        }

        // The path ends at `n`: take its route for the method, if any.
        bool accept(const node& n) {
            const route* chosen = nullptr;
            for (const auto& [id, r] : n.routes) {
                if (id == method) chosen = &r;
            }
            if (chosen == nullptr && get_method != npos) {
                for (const auto& [id, r] : n.routes) {
                    if (id == get_method) chosen = &r;
                }
            }
            if (chosen == nullptr && n.any) chosen = &*n.any;
            if (chosen == nullptr) {
                path_matched = path_matched || n.methods != 0;
                allowed |= n.methods;
                return false;
            }
            out.handler_ = &chosen->handler;
            out.param_count_ = depth;
            for (std::size_t i = 0; i < depth; ++i) out.params_[i].name = chosen->param_names[i];
            return true;
        }
    };

    static std::invalid_argument malformed(std::string_view pattern, const char* why) {
        return std::invalid_argument("router: malformed pattern [" + std::string(pattern) + "]: " + why);
    }

    static std::invalid_argument conflict(const route& added, const route& existing) {
        return std::invalid_argument("router: [" + added.description + "] conflicts with [" +
                                     existing.description + "], registered earlier");
    }

    // Validates `pattern` and returns its node, created as needed; collects
    // the parameter names. Throws before changing anything if malformed.
    node* insert(std::string_view pattern, std::vector<std::string>& names) {
        if (pattern.empty() || pattern.front() != '/') throw malformed(pattern, "does not start with '/'");
        // Check everything first, so a bad pattern leaves no empty nodes behind.
        struct step {
            std::string_view text;
            int kind;  // 0 literal, 1 {name}, 2 {name...}
        };
        std::vector<step> steps;
        for (std::size_t pos = 1;;) {
            const std::size_t slash = pattern.find('/', pos);
            const std::string_view seg = pattern.substr(pos, slash == npos ? npos : slash - pos);
            const bool last = slash == npos;
            if (seg.empty() && !last) throw malformed(pattern, "empty segment");
            if (!seg.empty() && seg.front() == '{') {
                if (seg.back() != '}') throw malformed(pattern, "'{' without '}' closing the segment");
                std::string_view name = seg.substr(1, seg.size() - 2);
                const bool rest = name.size() >= 3 && name.substr(name.size() - 3) == "...";
                if (rest) name.remove_suffix(3);
                if (rest && !last) throw malformed(pattern, "{name...} must be the last segment");
                if (name.empty()) throw malformed(pattern, "parameter without a name");
                for (const char c : name) {
                    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '_') {
                        throw malformed(pattern, "parameter names are letters, digits and '_'");
                    }
                }
                if (std::find(names.begin(), names.end(), name) != names.end()) {
                    throw malformed(pattern, "parameter name used twice");
                }
                if (names.size() == max_params) throw malformed(pattern, "more than 8 parameters");
                names.emplace_back(name);
                steps.push_back({seg, rest ? 2 : 1});
            } else {
                if (seg.find_first_of("{}") != std::string_view::npos) {
                    throw malformed(pattern, "'{' or '}' inside a literal segment");
                }
                steps.push_back({seg, 0});
            }
            if (last) break;
            pos = slash + 1;
        }

        node* n = &root_;
        for (const step& s : steps) {
            if (s.kind == 1) {
                if (!n->param) n->param = std::make_unique<node>();
                n = n->param.get();
            } else if (s.kind == 2) {
                if (!n->catch_all) n->catch_all = std::make_unique<node>();
                n = n->catch_all.get();
            } else {
                auto it = std::lower_bound(n->literals.begin(), n->literals.end(), s.text,
                                           [](const auto& child, std::string_view t) { return child.first < t; });
                if (it == n->literals.end() || it->first != s.text) {
                    it = n->literals.emplace(it, std::string(s.text), std::make_unique<node>());
                }
                n = it->second.get();
            }
        }
        return n;
    }

    // The id of `method`, or npos if no route names it.
    std::size_t find_method(std::string_view method) const noexcept {
        for (std::size_t i = 0; i < methods_.size(); ++i) {
            if (methods_[i] == method) return i;
        }
        return npos;
    }

    // The id of `method`, registered if new.
    std::size_t intern_method(std::string_view method) {
        const std::size_t id = find_method(method);
        if (id != npos) return id;
        if (methods_.size() == max_methods) throw std::invalid_argument("router: more than 64 distinct methods");
        methods_.emplace_back(method);
        return methods_.size() - 1;
    }

    // "GET, HEAD, POST": the usual methods in their usual order, then others
    // in registration order; HEAD whenever GET is allowed.
    std::string allow_header(std::uint64_t allowed) const {
        constexpr std::array<std::string_view, 9> usual = {"GET",     "HEAD",    "POST",    "PUT",  "PATCH",
                                                           "DELETE", "CONNECT", "OPTIONS", "TRACE"};
        const std::size_t get = find_method("GET");
        const bool head = get != npos && (allowed >> get & 1) != 0;
        std::string out;
        const auto add_name = [&out](std::string_view name) {
            if (!out.empty()) out.append(", ");
            out.append(name);
        };
        for (const std::string_view name : usual) {
            const std::size_t id = find_method(name);
            if ((id != npos && (allowed >> id & 1) != 0) || (name == "HEAD" && head)) add_name(name);
        }
        for (std::size_t id = 0; id < methods_.size(); ++id) {
            if ((allowed >> id & 1) != 0 &&
                std::find(usual.begin(), usual.end(), std::string_view(methods_[id])) == usual.end()) {
                add_name(methods_[id]);
            }
        }
        return out;
    }

    node root_;
    std::vector<std::string> methods_;  // method names by id
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_ROUTER_HPP
