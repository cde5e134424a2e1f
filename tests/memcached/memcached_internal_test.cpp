// The memcached backend's pure parts: the SHA-256 digest, item naming and
// placement, and the envelope format. No server needed.
#include <gtest/gtest.h>

#include <string>

#include "backends/memcached/envelope.h"
#include "backends/memcached/item_keys.h"
#include "backends/memcached/sha256.h"
#include "core/error.h"

namespace unicache {

namespace {

std::string hex(const Sha256Digest &d)
{
    static const char k[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : d.bytes) {
        out.push_back(k[b >> 4]);
        out.push_back(k[b & 15]);
    }
    return out;
}

std::string sha_hex(const std::string &s) { return hex(sha256(s.data(), s.size())); }

} // namespace

TEST(Sha256, MatchesTheStandardVectors)
{
    EXPECT_EQ(sha_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Lengths around the padding boundary (55, 56, 64 bytes) differ.
    EXPECT_NE(sha_hex(std::string(55, 'x')), sha_hex(std::string(56, 'x')));
    EXPECT_EQ(sha_hex(std::string(64, 'a')),
              "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(ItemKeys, SafeShortKeysAreSentVerbatim)
{
    std::string name;
    EXPECT_FALSE(item_keys::entry_key("app:user:1", &name));
    EXPECT_EQ(name, "u0000000000000000:app:user:1");
    item_keys::set_generation(&name, 0x1234abcdULL);
    EXPECT_EQ(name, "u000000001234abcd:app:user:1");
    std::string longest(item_keys::kMaxKey - item_keys::kEntryHead, 'k');
    EXPECT_FALSE(item_keys::entry_key(longest, &name));
    EXPECT_EQ(name.size(), item_keys::kMaxKey);
}

TEST(ItemKeys, LongOrUnsafeKeysBecomeDigests)
{
    std::string name;
    const std::string unsafe[] = {std::string(item_keys::kMaxKey - item_keys::kEntryHead + 1, 'k'),
                                  "a b", "a\r\nb", std::string("a\0b", 3), "\x7f", "\xc3\xa9"};
    for (const auto &k : unsafe) {
        EXPECT_TRUE(item_keys::entry_key(k, &name)) << k;
        EXPECT_EQ(name.size(), item_keys::kEntryHead + 43);
        EXPECT_EQ(name[item_keys::kEntryHead - 1], '#');
        EXPECT_TRUE(item_keys::is_safe(name)) << name;
    }
    std::string a, b;
    item_keys::entry_key(std::string(250, 's') + "1", &a);
    item_keys::entry_key(std::string(250, 's') + "2", &b);
    EXPECT_NE(a, b);
    // A safe key that looks like a digest name cannot collide with one.
    std::string digest_like;
    item_keys::entry_key("a b", &digest_like);
    std::string verbatim;
    item_keys::entry_key(digest_like.substr(item_keys::kEntryHead), &verbatim);
    EXPECT_NE(verbatim, digest_like);
}

TEST(ItemKeys, PlacementIgnoresTheGeneration)
{
    std::string n1, n2;
    item_keys::entry_key("some:key", &n1);
    n2 = n1;
    item_keys::set_generation(&n1, 1);
    item_keys::set_generation(&n2, 0xffffffffffffULL);
    EXPECT_EQ(item_keys::server_hash(n1.data(), n1.size(), nullptr),
              item_keys::server_hash(n2.data(), n2.size(), nullptr));
    // Generation counters are placed by their anchor alone.
    std::string g1 = item_keys::generation_key(7, "prefix-a:");
    std::string g2 = item_keys::generation_key(7, std::string(300, 'p'));
    EXPECT_EQ(g1, "g7|prefix-a:");
    EXPECT_EQ(g2.substr(0, 3), "g7#");
    EXPECT_EQ(item_keys::server_hash(g1.data(), g1.size(), nullptr),
              item_keys::server_hash(g2.data(), g2.size(), nullptr));
    std::string probe = "g7|";
    EXPECT_EQ(item_keys::server_hash(probe.data(), probe.size(), nullptr),
              item_keys::server_hash(g1.data(), g1.size(), nullptr));
    // Different keys spread.
    std::string k1, k2;
    item_keys::entry_key("a", &k1);
    item_keys::entry_key("b", &k2);
    EXPECT_NE(item_keys::server_hash(k1.data(), k1.size(), nullptr),
              item_keys::server_hash(k2.data(), k2.size(), nullptr));
    EXPECT_EQ(item_keys::tag_key("pfx:tag"), "t:pfx:tag");
    EXPECT_EQ(item_keys::tag_key("has space").substr(0, 2), "t#");
}

TEST(Envelope, PlainValuesCarryNoHeader)
{
    std::string header;
    uint32_t flags = Envelope::encode(0, Bytes(), Bytes(), &header);
    EXPECT_EQ(flags, Envelope::kMark);
    EXPECT_TRUE(header.empty());
    Envelope e = Envelope::decode(flags, "-2");
    EXPECT_EQ(e.value, "-2");
    EXPECT_EQ(e.expiry_ms, 0);
    EXPECT_TRUE(e.key.empty());
    EXPECT_TRUE(e.header.empty());
}

TEST(Envelope, MetadataRoundTrips)
{
    std::string tags;
    append_tag("t:one", 42, &tags);
    append_tag("t#abc", UINT64_MAX, &tags);
    std::string header;
    std::string key("full\0key", 8);
    uint32_t flags = Envelope::encode(1700000000123, key, tags, &header);
    EXPECT_EQ(flags, Envelope::kMark | Envelope::kExpiry | Envelope::kKey | Envelope::kTags);
    std::string item = header + std::string("val\0ue", 6);
    Envelope e = Envelope::decode(flags, item);
    EXPECT_EQ(e.expiry_ms, 1700000000123);
    EXPECT_EQ(e.key, key);
    EXPECT_EQ(e.value, std::string("val\0ue", 6));
    EXPECT_EQ(e.header, header);
    TagCursor cur(e.tags);
    Bytes name;
    uint64_t version;
    ASSERT_TRUE(cur.next(&name, &version));
    EXPECT_EQ(name, "t:one");
    EXPECT_EQ(version, 42u);
    ASSERT_TRUE(cur.next(&name, &version));
    EXPECT_EQ(name, "t#abc");
    EXPECT_EQ(version, UINT64_MAX);
    EXPECT_FALSE(cur.next(&name, &version));
}

TEST(Envelope, ForeignOrTruncatedItemsAreCorrupt)
{
    auto status_of = [](uint32_t flags, const std::string &item) {
        try {
            Envelope::decode(flags, item);
            return 0;
        } catch (const Error &e) {
            return e.status();
        }
    };
    EXPECT_EQ(status_of(0, "raw"), CACHE_ECORRUPT);
    EXPECT_EQ(status_of(Envelope::kMark | 0x80, "x"), CACHE_ECORRUPT); // a newer format bit
    EXPECT_EQ(status_of(Envelope::kMark | Envelope::kExpiry, "short"), CACHE_ECORRUPT);
    EXPECT_EQ(status_of(Envelope::kMark | Envelope::kKey, std::string("\x09\0\0\0abc", 7)),
              CACHE_ECORRUPT);
    std::string bad_tags("\x05\0\0\0\x09" "ab", 8);
    Envelope e = Envelope::decode(Envelope::kMark | Envelope::kTags, bad_tags + "v");
    TagCursor cur(e.tags);
    Bytes n;
    uint64_t v;
    try {
        cur.next(&n, &v);
        ADD_FAILURE() << "truncated tag section accepted";
    } catch (const Error &err) {
        EXPECT_EQ(err.status(), CACHE_ECORRUPT);
    }
}

} // namespace unicache
