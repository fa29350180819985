// Tests include/fcgid/sdk/router.hpp: patterns, precedence, 404/405 with
// Allow, HEAD, registration errors, and that matching does not allocate.
#include "fcgid/sdk/router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Counts every allocation of the program, so a test can see that match()
// makes none. new and delete are replaced as a pair over malloc and free;
// GCC, seeing free() inlined after new, would warn about that pairing.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    ++g_allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace fcgid::sdk {
namespace {

using string_router = router<std::string>;

// What a match found, as text: "found <handler> id=42 rest=a/b",
// "not_found" or "405 GET, HEAD".
std::string describe(const string_router& r, std::string_view method, std::string_view path) {
    const string_router::match_result m = r.match(method, path);
    switch (m.status()) {
    case route_status::not_found:
        EXPECT_EQ(m.handler(), nullptr);
        return "not_found";
    case route_status::method_not_allowed:
        EXPECT_EQ(m.handler(), nullptr);
        return "405 " + m.allow();
    case route_status::found:
        break;
    }
    std::string out = "found " + *m.handler();
    for (const path_param& p : m) out += " " + std::string(p.name) + "=" + std::string(p.value);
    return out;
}

string_router sample() {
    string_router r;
    r.get("/", "root");
    r.get("/users", "list");
    r.post("/users", "create");
    r.get("/users/new", "new-form");
    r.get("/users/{id}", "show");
    r.put("/users/{id}", "update");
    r.del("/users/{id}", "delete");
    r.get("/users/{id}/posts/{post}", "post");
    r.get("/files/{path...}", "file");
    r.get("/dir/", "dir-slash");
    r.patch("/dir", "dir-patch");
    return r;
}

TEST(router, literals_and_root) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", "/"), "found root");
    EXPECT_EQ(describe(r, "GET", "/users"), "found list");
    EXPECT_EQ(describe(r, "POST", "/users"), "found create");
    EXPECT_EQ(describe(r, "GET", "/nope"), "not_found");
    EXPECT_EQ(describe(r, "GET", "/users/1/posts"), "not_found");
}

TEST(router, parameters) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", "/users/42"), "found show id=42");
    EXPECT_EQ(describe(r, "GET", "/users/42/posts/7"), "found post id=42 post=7");
    EXPECT_EQ(describe(r, "GET", "/users/a%20b"), "found show id=a%20b") << "no decoding";
    EXPECT_EQ(describe(r, "GET", "/users/"), "not_found") << "{id} needs a non-empty segment; /users/ is not /users";
}

TEST(router, trailing_slash_is_significant) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", "/dir/"), "found dir-slash");
    EXPECT_EQ(describe(r, "PATCH", "/dir"), "found dir-patch");
    EXPECT_EQ(describe(r, "GET", "/dir"), "405 PATCH");
    EXPECT_EQ(describe(r, "GET", "/users/42/"), "not_found");
}

TEST(router, catch_all) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", "/files/a/b/c.txt"), "found file path=a/b/c.txt");
    EXPECT_EQ(describe(r, "GET", "/files/"), "found file path=");
    EXPECT_EQ(describe(r, "GET", "/files//x/"), "found file path=/x/");
    EXPECT_EQ(describe(r, "GET", "/files"), "not_found");
}

TEST(router, param_values_are_views_into_the_path) {
    const string_router r = sample();
    const std::string path = "/users/42/posts/7";
    const auto m = r.match("GET", path);
    ASSERT_TRUE(m.found());
    EXPECT_EQ(m.param("id")->data(), path.data() + 7);
    EXPECT_EQ(m.param("post"), "7");
    EXPECT_EQ(m.param("nope"), std::nullopt);
    EXPECT_EQ(m.param_count(), 2u);
}

TEST(router, literal_beats_parameter_beats_catch_all) {
    string_router r;
    r.get("/a/{x}", "param");
    r.get("/a/{rest...}", "rest");
    r.get("/a/lit", "literal");
    EXPECT_EQ(describe(r, "GET", "/a/lit"), "found literal");
    EXPECT_EQ(describe(r, "GET", "/a/other"), "found param x=other");
    EXPECT_EQ(describe(r, "GET", "/a/b/c"), "found rest rest=b/c");
    EXPECT_EQ(describe(r, "GET", "/a/"), "found rest rest=");
}

TEST(router, backtracks_out_of_a_literal_dead_end) {
    string_router r;
    r.get("/a/b/d", "literal");
    r.get("/a/{x}/c", "param");
    r.get("/{first}/{second...}", "fallback");
    EXPECT_EQ(describe(r, "GET", "/a/b/c"), "found param x=b");
    EXPECT_EQ(describe(r, "GET", "/a/b/d"), "found literal");
    EXPECT_EQ(describe(r, "GET", "/a/b/e"), "found fallback first=a second=b/e");
}

TEST(router, a_less_specific_pattern_serves_a_method_the_literal_lacks) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", "/users/new"), "found new-form");
    EXPECT_EQ(describe(r, "DELETE", "/users/new"), "found delete id=new");
}

TEST(router, method_not_allowed_lists_every_matching_pattern) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "POST", "/users/42"), "405 GET, HEAD, PUT, DELETE");
    EXPECT_EQ(describe(r, "POST", "/users/new"), "405 GET, HEAD, PUT, DELETE") << "union of /users/new and /users/{id}";
    EXPECT_EQ(describe(r, "DELETE", "/users"), "405 GET, HEAD, POST");
    EXPECT_EQ(describe(r, "get", "/users"), "405 GET, HEAD, POST") << "methods are case-sensitive";
}

TEST(router, allow_order_and_custom_methods) {
    string_router r;
    r.add("PROPFIND", "/x", "propfind");
    r.add("OPTIONS", "/x", "options");
    r.post("/x", "post");
    r.add("MKCOL", "/x", "mkcol");
    EXPECT_EQ(describe(r, "GET", "/x"), "405 POST, OPTIONS, PROPFIND, MKCOL");
    EXPECT_EQ(describe(r, "PROPFIND", "/x"), "found propfind");
}

TEST(router, head_falls_back_to_get_and_explicit_head_wins) {
    string_router r;
    r.get("/a", "get-a");
    r.get("/b", "get-b");
    r.add("HEAD", "/b", "head-b");
    r.post("/c", "post-c");
    EXPECT_EQ(describe(r, "HEAD", "/a"), "found get-a");
    EXPECT_EQ(describe(r, "HEAD", "/b"), "found head-b");
    EXPECT_EQ(describe(r, "HEAD", "/c"), "405 POST");
    EXPECT_EQ(describe(r, "POST", "/b"), "405 GET, HEAD");
}

TEST(router, any_method_routes) {
    string_router r;
    r.any("/hook", "any");
    r.post("/hook", "post");
    r.get("/items/{id}", "get-item");
    r.any("/items/{rest...}", "any-items");
    EXPECT_EQ(describe(r, "POST", "/hook"), "found post") << "an exact method beats any";
    EXPECT_EQ(describe(r, "BREW", "/hook"), "found any");
    EXPECT_EQ(describe(r, "HEAD", "/hook"), "found any");
    EXPECT_EQ(describe(r, "DELETE", "/items/3"), "found any-items rest=3");
    EXPECT_EQ(describe(r, "GET", "/items/3"), "found get-item id=3");
}

TEST(router, paths_that_cannot_match) {
    const string_router r = sample();
    EXPECT_EQ(describe(r, "GET", ""), "not_found");
    EXPECT_EQ(describe(r, "GET", "users"), "not_found");
    EXPECT_EQ(describe(r, "GET", "//"), "not_found");
    EXPECT_EQ(describe(r, "GET", "/users//posts/1"), "not_found");
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "/users";
    EXPECT_EQ(describe(r, "GET", deep), "not_found");
    EXPECT_EQ(describe(string_router(), "GET", "/"), "not_found");
}

TEST(router, conflicting_registrations_throw) {
    string_router r;
    r.get("/users/{id}", "a");
    r.put("/users/{id}", "b");
    try {
        r.get("/users/{uid}", "c");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "router: [GET /users/{uid}] conflicts with [GET /users/{id}], registered earlier");
    }
    r.any("/users/{id}", "d");
    EXPECT_THROW(r.any("/users/{x}", "e"), std::invalid_argument);
    EXPECT_THROW(r.put("/users/{id}", "f"), std::invalid_argument);
    EXPECT_EQ(describe(r, "GET", "/users/1"), "found a id=1") << "the router is unchanged";
}

TEST(router, malformed_patterns_and_methods_throw) {
    string_router r;
    for (const std::string_view pattern :
         {"", "users", "/a//b", "/{", "/{}", "/{...}", "/{a}{b}", "/x{a}", "/a}", "/{a-b}", "/{a}/{a}",
          "/{rest...}/x", "/{a b}", "/pre{x}"}) {
        EXPECT_THROW(r.get(pattern, "x"), std::invalid_argument) << pattern;
    }
    EXPECT_THROW(r.add("", "/", "x"), std::invalid_argument);
    EXPECT_THROW(r.add("GE T", "/", "x"), std::invalid_argument);
    try {
        r.get("/a//b", "x");
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "router: malformed pattern [/a//b]: empty segment");
    }
    EXPECT_EQ(describe(r, "GET", "/a"), "not_found") << "failed patterns leave nothing behind";
}

TEST(router, at_most_eight_parameters) {
    string_router r;
    r.get("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h...}", "eight");
    EXPECT_EQ(describe(r, "GET", "/1/2/3/4/5/6/7/8/9"), "found eight a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8/9");
    EXPECT_THROW(r.get("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", "nine"), std::invalid_argument);
}

TEST(router, at_most_64_methods) {
    string_router r;
    for (int i = 0; i < 64; ++i) r.add("M" + std::to_string(i), "/", "x");
    EXPECT_THROW(r.add("M64", "/", "x"), std::invalid_argument);
}

TEST(router, move_only_handlers) {
    router<std::unique_ptr<int>> r;
    r.get("/{n}", std::make_unique<int>(7));
    const auto m = r.match("GET", "/x");
    ASSERT_TRUE(m.found());
    EXPECT_EQ(**m.handler(), 7);
    router<std::unique_ptr<int>> moved = std::move(r);
    EXPECT_TRUE(moved.match("GET", "/y").found());
}

TEST(router, matching_does_not_allocate) {
    const string_router r = sample();
    const std::string path = "/users/42/posts/7";
    const std::string files = "/files/a/b/c";
    std::size_t found = 0;
    const std::size_t before = g_allocations.load();
    for (int i = 0; i < 1000; ++i) {
        found += r.match("GET", path).found() ? 1 : 0;
        found += r.match("HEAD", files).found() ? 1 : 0;
        found += r.match("GET", "/nowhere").found() ? 1 : 0;
    }
    EXPECT_EQ(g_allocations.load() - before, 0u);
    EXPECT_EQ(found, 2000u);
}

}  // namespace
}  // namespace fcgid::sdk
