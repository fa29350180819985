// core/net/address_filter: --allow and FCGI_WEB_SERVER_ADDRS. Peers are
// real sockaddr_in/sockaddr_in6/sockaddr_un values, as accept() fills them.
#include "net/address_filter.hpp"

#include <gtest/gtest.h>

#include <sys/un.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fcgid::net {
namespace {

// What accept() would return for a TCP peer at `address`.
boost::asio::ip::tcp::endpoint peer(const std::string& address) {
    return {boost::asio::ip::make_address(address), 40000};
}

bool allows(const address_filter& filter, const std::string& address) {
    return filter.allows(peer(address).data());
}

address_filter filter_of(std::initializer_list<std::string_view> rules) {
    address_filter filter;
    for (const std::string_view rule : rules) filter.add(rule);
    return filter;
}

// The message add() throws for `text`, or "" if it accepts it.
std::string error_of(std::string_view text) {
    try {
        address_filter filter;
        filter.add(text);
        return {};
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
}

TEST(AddressFilter, EmptyAllowsEveryone) {
    const address_filter filter;
    EXPECT_TRUE(filter.empty());
    EXPECT_TRUE(allows(filter, "127.0.0.1"));
    EXPECT_TRUE(allows(filter, "203.0.113.9"));
    EXPECT_TRUE(allows(filter, "::1"));
    EXPECT_TRUE(allows(filter, "::ffff:10.1.2.3"));
}

TEST(AddressFilter, AnyRuleMakesItNonEmpty) {
    EXPECT_FALSE(filter_of({"127.0.0.1"}).empty());
    EXPECT_FALSE(filter_of({"::1"}).empty());
}

TEST(AddressFilter, V4NetworkMatchesItsRangeOnly) {
    const auto filter = filter_of({"10.0.0.0/8"});
    EXPECT_TRUE(allows(filter, "10.0.0.0"));
    EXPECT_TRUE(allows(filter, "10.0.0.1"));
    EXPECT_TRUE(allows(filter, "10.255.255.255"));
    EXPECT_FALSE(allows(filter, "11.0.0.0"));
    EXPECT_FALSE(allows(filter, "9.255.255.255"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
}

TEST(AddressFilter, PrefixNotOnAByteBoundary) {
    const auto filter = filter_of({"192.168.4.0/22"});  // 192.168.4.0 - 192.168.7.255
    EXPECT_FALSE(allows(filter, "192.168.3.255"));
    EXPECT_TRUE(allows(filter, "192.168.4.0"));
    EXPECT_TRUE(allows(filter, "192.168.7.255"));
    EXPECT_FALSE(allows(filter, "192.168.8.0"));
}

TEST(AddressFilter, BareV4AddressIsOneHost) {
    const auto filter = filter_of({"127.0.0.2"});
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
    EXPECT_FALSE(allows(filter, "127.0.0.3"));
}

TEST(AddressFilter, Slash32IsOneHost) {
    const auto filter = filter_of({"127.0.0.1/32"});
    EXPECT_TRUE(allows(filter, "127.0.0.1"));
    EXPECT_FALSE(allows(filter, "127.0.0.2"));
    EXPECT_FALSE(allows(filter, "127.0.0.0"));
}

TEST(AddressFilter, V4Slash0AllowsEveryV4PeerButNoV6Peer) {
    const auto filter = filter_of({"0.0.0.0/0"});
    EXPECT_TRUE(allows(filter, "0.0.0.0"));
    EXPECT_TRUE(allows(filter, "127.0.0.1"));
    EXPECT_TRUE(allows(filter, "255.255.255.255"));
    EXPECT_TRUE(allows(filter, "::ffff:198.51.100.1")) << "a mapped peer is an IPv4 peer";
    EXPECT_FALSE(allows(filter, "::1"));
}

TEST(AddressFilter, HostBitsUnderThePrefixAreTheNetwork) {
    // "10.0.0.1/8" is read as 10.0.0.0/8, as it always was.
    const auto filter = filter_of({"10.0.0.1/8"});
    EXPECT_TRUE(allows(filter, "10.0.0.1"));
    EXPECT_TRUE(allows(filter, "10.200.0.7"));
    EXPECT_FALSE(allows(filter, "11.0.0.1"));
    const auto v6 = filter_of({"fd00::1/8"});
    EXPECT_TRUE(allows(v6, "fdff::9"));
    EXPECT_FALSE(allows(v6, "fe00::1"));
}

TEST(AddressFilter, V6NetworkMatchesItsRangeOnly) {
    const auto filter = filter_of({"fd00::/8"});
    EXPECT_TRUE(allows(filter, "fd00::"));
    EXPECT_TRUE(allows(filter, "fd12:3456::1"));
    EXPECT_TRUE(allows(filter, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    EXPECT_FALSE(allows(filter, "fc00::1"));
    EXPECT_FALSE(allows(filter, "fe00::"));
    EXPECT_FALSE(allows(filter, "::1"));
    EXPECT_FALSE(allows(filter, "10.0.0.1"));
}

TEST(AddressFilter, V6PrefixNotOnAByteBoundary) {
    const auto filter = filter_of({"2001:db8::/33"});  // second group 0db8:0000 - 0db8:7fff
    EXPECT_TRUE(allows(filter, "2001:db8:7fff::1"));
    EXPECT_FALSE(allows(filter, "2001:db8:8000::1"));
    EXPECT_FALSE(allows(filter, "2001:db9::"));
}

TEST(AddressFilter, BareV6AddressAndSlash128AreOneHost) {
    for (const std::string_view rule : {"::1", "::1/128"}) {
        SCOPED_TRACE(rule);
        const auto filter = filter_of({rule});
        EXPECT_TRUE(allows(filter, "::1"));
        EXPECT_FALSE(allows(filter, "::2"));
        EXPECT_FALSE(allows(filter, "::"));
        EXPECT_FALSE(allows(filter, "127.0.0.1")) << "::1 is not the IPv4 loopback";
    }
}

TEST(AddressFilter, V6Slash0AllowsNativeV6PeersOnly) {
    const auto filter = filter_of({"::/0"});
    EXPECT_TRUE(allows(filter, "::1"));
    EXPECT_TRUE(allows(filter, "2001:db8::1"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
    EXPECT_FALSE(allows(filter, "::ffff:127.0.0.1")) << "a mapped peer is matched as IPv4";
}

TEST(AddressFilter, MappedPeerMatchesAnIPv4Rule) {
    // A dual-stack listener on [::] sees IPv4 clients as ::ffff:a.b.c.d.
    const auto filter = filter_of({"127.0.0.1", "10.0.0.0/8"});
    EXPECT_TRUE(allows(filter, "::ffff:127.0.0.1"));
    EXPECT_TRUE(allows(filter, "::ffff:10.9.8.7"));
    EXPECT_FALSE(allows(filter, "::ffff:127.0.0.2"));
    EXPECT_FALSE(allows(filter, "::ffff:11.0.0.1"));
}

TEST(AddressFilter, NearlyMappedPeerIsIPv6) {
    // ::fffe:127.0.0.1 and the old IPv4-compatible ::127.0.0.1 are not
    // mapped addresses: an IPv4 rule does not cover them.
    const auto filter = filter_of({"127.0.0.1"});
    EXPECT_FALSE(allows(filter, "::fffe:127.0.0.1"));
    EXPECT_FALSE(allows(filter, "::127.0.0.1"));
    EXPECT_FALSE(allows(filter, "1::ffff:127.0.0.1"));
}

TEST(AddressFilter, MappedRuleIsTheIPv4RuleItMaps) {
    const auto host = filter_of({"::ffff:127.0.0.1"});
    EXPECT_TRUE(allows(host, "127.0.0.1"));
    EXPECT_TRUE(allows(host, "::ffff:127.0.0.1"));
    EXPECT_FALSE(allows(host, "127.0.0.2"));

    const auto network = filter_of({"::ffff:10.0.0.0/104"});  // 96 + 8
    EXPECT_TRUE(allows(network, "10.1.2.3"));
    EXPECT_TRUE(allows(network, "::ffff:10.1.2.3"));
    EXPECT_FALSE(allows(network, "11.1.2.3"));

    const auto all_v4 = filter_of({"::ffff:0.0.0.0/96"});
    EXPECT_TRUE(allows(all_v4, "198.51.100.1"));
    EXPECT_FALSE(allows(all_v4, "::1"));
}

TEST(AddressFilter, ScopeIdsAreIgnored) {
    const auto filter = filter_of({"fe80::/10"});
    auto scoped = peer("fe80::1");
    reinterpret_cast<sockaddr_in6*>(scoped.data())->sin6_scope_id = 1;
    EXPECT_TRUE(filter.allows(scoped.data()));
    const auto scoped_rule = filter_of({"fe80::1%1"});
    EXPECT_TRUE(allows(scoped_rule, "fe80::1"));
    EXPECT_FALSE(allows(scoped_rule, "fe80::2"));
}

TEST(AddressFilter, AnyRuleMayMatchAndTheFamiliesMix) {
    const auto filter = filter_of({"10.0.0.0/8", "127.0.0.2", "::1", "fd00::/8"});
    EXPECT_TRUE(allows(filter, "10.3.3.3"));
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_TRUE(allows(filter, "::1"));
    EXPECT_TRUE(allows(filter, "fd00::5"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
    EXPECT_FALSE(allows(filter, "::2"));
}

TEST(AddressFilter, UnixSocketPeersAreAlwaysAllowed) {
    const auto filter = filter_of({"10.0.0.0/8"});
    sockaddr_un unnamed{};
    unnamed.sun_family = AF_UNIX;
    EXPECT_TRUE(filter.allows(reinterpret_cast<const sockaddr*>(&unnamed)));
    sockaddr_un named{};
    named.sun_family = AF_UNIX;
    std::strcpy(named.sun_path, "/run/nginx.sock");
    EXPECT_TRUE(filter.allows(reinterpret_cast<const sockaddr*>(&named)));
}

TEST(AddressFilter, BlanksAroundARuleAreIgnored) {
    const auto filter = filter_of({" \t127.0.0.2/32\t "});
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
}

TEST(AddressFilter, LeadingZerosInThePrefixLength) {
    const auto filter = filter_of({"10.0.0.0/08"});
    EXPECT_TRUE(allows(filter, "10.2.0.0"));
    EXPECT_FALSE(allows(filter, "11.0.0.0"));
}

TEST(AddressFilter, BadInputIsRefusedWithOneLineNamingIt) {
    const std::string suffix = "' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)";
    for (const std::string_view text : {
             "",                       // nothing
             "   ",                    // blanks only
             "localhost",              // a name, not an address
             "10.0.0",                 // short dotted quad
             "10.0.0.256",             // octet out of range
             "010.0.0.1",              // octal-looking octet
             "10.0.0.0/",              // no length
             "/8",                     // no address
             "10.0.0.0/33",            // longer than the family
             "::/129",                 //
             "10.0.0.0/-1",            // sign
             "10.0.0.0/+8",            //
             "10.0.0.0/ 8",            // blank inside
             "10.0.0.0 /8",            //
             "10.0.0.0/8/8",           // two slashes
             "10.0.0.0/8x",            // trailing junk
             "10.0.0.0/4294967304",    // 2^32 + 8: must not wrap to /8
             "10.0.0.0/99999999999999999999",
             "10.0.0.0-10.0.0.255",    // a range
             "[::1]",                  // a bracketed literal
             "::1:",                   //
             "127.0.0.1,127.0.0.2",    // a list, given to add()
         }) {
        SCOPED_TRACE(text);
        const std::string error = error_of(text);
        EXPECT_EQ(error, "'" + std::string(text) + suffix);
        EXPECT_EQ(error.find('\n'), std::string::npos);
    }
}

TEST(AddressFilter, ARefusedRuleAddsNothing) {
    address_filter filter;
    EXPECT_THROW(filter.add("10.0.0.0/33"), std::invalid_argument);
    EXPECT_TRUE(filter.empty());
    EXPECT_TRUE(allows(filter, "203.0.113.1"));
}

TEST(AddressFilter, ListAddsEveryEntry) {
    address_filter filter;
    filter.add_list("127.0.0.3, 127.0.0.2 ,\t10.0.0.0/8,::1");
    EXPECT_TRUE(allows(filter, "127.0.0.3"));
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_TRUE(allows(filter, "10.1.1.1"));
    EXPECT_TRUE(allows(filter, "::1"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
}

TEST(AddressFilter, ListSkipsEmptyEntries) {
    address_filter filter;
    filter.add_list(",, 127.0.0.2 ,,");
    EXPECT_FALSE(filter.empty());
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));

    address_filter blank;
    blank.add_list("");
    blank.add_list(" , ");
    EXPECT_TRUE(blank.empty());
}

TEST(AddressFilter, ListAddsToRulesAlreadyThere) {
    auto filter = filter_of({"127.0.0.2/32"});
    filter.add_list("127.0.0.3");
    EXPECT_TRUE(allows(filter, "127.0.0.2"));
    EXPECT_TRUE(allows(filter, "127.0.0.3"));
    EXPECT_FALSE(allows(filter, "127.0.0.1"));
}

TEST(AddressFilter, ListWithABadEntryNamesThatEntry) {
    address_filter filter;
    try {
        filter.add_list("127.0.0.2, bogus ,::1");
        FAIL() << "accepted a bad entry";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     "'bogus' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)");
    }
}

}  // namespace
}  // namespace fcgid::net
