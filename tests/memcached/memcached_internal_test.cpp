// The memcached backend's pure parts: the SHA-256 digest (libcrypto's), item naming and
// placement, and the envelope format. No server needed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/memcached/entry_batch.h"
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

std::string sha_hex(const std::string &s)
{
    return hex(sha256(s.data(), s.size()));
}

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

// Names computed by the hand-written SHA-256 this backend used before it
// called libcrypto: items stored then are still found.
TEST(Sha256, ItemNamesAreTheOnesStoredBefore)
{
    std::string name;
    item_keys::append_digest_name(std::string("user 42 profile"), &name);
    EXPECT_EQ(name, "!zJT3VLPJXqBz0Bc9HszoYYdxDLf-yQ8gHLpS9UrJRcA");
    EXPECT_EQ(item_keys::tag_key("has space"), "~t#R7XDb8CwF7pXbxD5iNDLy8eCVtq13g5GiZgImOfHFeM");
    EXPECT_EQ(item_keys::generation_key(7, std::string(300, 'p')),
              "~g7#Z_ECuQYkD_UXQjNztgWB_4y6XFqfqBeIX6rR5G9eKDM");
}

// The name an entry of full_key gets, as the backend makes it.
std::string entry_name(Bytes full_key, bool *hashed = nullptr)
{
    bool verbatim = item_keys::is_verbatim(full_key);
    if (hashed)
        *hashed = !verbatim;
    if (verbatim)
        return std::string(full_key);
    std::string name = "prefix that stays";
    item_keys::append_digest_name(full_key, &name);
    return name.substr(17);
}

uint32_t placed(const std::string &name)
{
    return item_keys::server_hash(name.data(), name.size(), nullptr);
}

TEST(ItemKeys, SafeMeansPrintableAsciiWithoutSpace)
{
    // Every byte value at every position of a word, and in the tail.
    for (int b = 0; b < 256; b++) {
        bool expect = b > 0x20 && b < 0x7f;
        for (size_t pos = 0; pos < 19; pos++) {
            std::string text(19, 'k');
            text[pos] = char(b);
            EXPECT_EQ(item_keys::is_safe(text), expect) << "byte " << b << " at " << pos;
        }
    }
    EXPECT_TRUE(item_keys::is_safe(""));
    EXPECT_TRUE(item_keys::is_safe("!~!~!~!~!~"));
}

TEST(ItemKeys, SafeShortKeysAreTheirOwnNames)
{
    bool hashed = true;
    EXPECT_EQ(entry_name("app:user:1", &hashed), "app:user:1");
    EXPECT_FALSE(hashed);
    std::string longest(item_keys::kMaxKey, 'k');
    EXPECT_EQ(entry_name(longest, &hashed), longest);
    EXPECT_FALSE(hashed);
    // '!' and '~' elsewhere than first are fine.
    EXPECT_EQ(entry_name("a!b~c", &hashed), "a!b~c");
    EXPECT_FALSE(hashed);
}

TEST(ItemKeys, LongOrUnsafeKeysBecomeDigests)
{
    const std::string unsafe[] = {std::string(item_keys::kMaxKey + 1, 'k'), "a b", "a\r\nb",
                                  std::string("a\0b", 3), "\x7f", "\xc3\xa9",
                                  "", // memcached has no empty key
                                  // The first byte of digest and counter names.
                                  "!x", "~g0|p:", "~t:tag"};
    for (const auto &k : unsafe) {
        bool hashed = false;
        std::string name = entry_name(k, &hashed);
        EXPECT_TRUE(hashed) << k;
        EXPECT_EQ(name.size(), item_keys::kDigestName);
        EXPECT_EQ(name[0], '!');
        EXPECT_TRUE(item_keys::is_safe(name)) << name;
    }
    EXPECT_NE(entry_name(std::string(250, 's') + "1"), entry_name(std::string(250, 's') + "2"));
    // A key that is a digest name, or a counter name, cannot collide with
    // one: a verbatim name never starts with '!' or '~'.
    std::string digest_like = entry_name("a b");
    EXPECT_NE(entry_name(digest_like), digest_like);
    std::string counter = item_keys::generation_key(0, "p:");
    EXPECT_NE(entry_name(counter), counter);
    EXPECT_NE(entry_name(item_keys::tag_key("p:t")), item_keys::tag_key("p:t"));
}

TEST(ItemKeys, Placement)
{
    EXPECT_EQ(placed(entry_name("some:key")), placed("some:key"));
    EXPECT_NE(placed(entry_name("a")), placed(entry_name("b")));
    // Generation counters are placed by their anchor alone.
    std::string g1 = item_keys::generation_key(7, "prefix-a:");
    std::string g2 = item_keys::generation_key(7, std::string(300, 'p'));
    EXPECT_EQ(g1, "~g7|prefix-a:");
    EXPECT_EQ(g2.substr(0, 4), "~g7#");
    EXPECT_EQ(placed(g1), placed(g2));
    EXPECT_EQ(placed("~g7|"), placed(g1));
    EXPECT_NE(placed("~g8|"), placed(g1));
    // A namespace's counter, named under the root's generation, lands with
    // the root's counter of the same anchor; a raw prefix's name never
    // takes its form.
    std::string n1 = item_keys::namespace_generation_key(7, 12345, "app");
    std::string n2 = item_keys::namespace_generation_key(7, 12345, std::string(300, 'p'));
    EXPECT_EQ(n1, "~n7|12345|app");
    EXPECT_EQ(n2.substr(0, 4), "~n7#");
    EXPECT_EQ(placed(n1), placed("~g7|"));
    EXPECT_EQ(placed(n2), placed("~g7|"));
    EXPECT_NE(item_keys::generation_key(7, "12345|app"), n1);
    EXPECT_NE(item_keys::namespace_generation_key(7, 12346, "app"), n1);
    EXPECT_EQ(item_keys::tag_key("pfx:tag"), "~t:pfx:tag");
    EXPECT_EQ(item_keys::tag_key("has space").substr(0, 3), "~t#");
}

TEST(Envelope, EveryItemCarriesItsGeneration)
{
    std::string header;
    uint32_t flags = Envelope::encode(0x0102030405060708ULL, 0, Bytes(), Bytes(), &header);
    EXPECT_EQ(flags, 0u);
    EXPECT_EQ(header, std::string("u\x08\x07\x06\x05\x04\x03\x02\x01", 9));
    std::string item = header + "-2";
    Envelope e = Envelope::decode(flags, item); // views into item
    EXPECT_EQ(e.generation, 0x0102030405060708ULL);
    EXPECT_EQ(e.value, "-2");
    EXPECT_EQ(e.expiry_ms, 0);
    EXPECT_TRUE(e.key.empty());
    EXPECT_TRUE(e.tags.empty());
    EXPECT_EQ(e.header, header);
    // An empty value is the header alone.
    EXPECT_EQ(Envelope::decode(flags, header).value, "");
}

TEST(Envelope, MetadataRoundTrips)
{
    std::string tags;
    append_tag("t:one", 42, &tags);
    append_tag("t#abc", UINT64_MAX, &tags);
    std::string header;
    std::string key("full\0key", 8);
    uint32_t flags = Envelope::encode(77, 1700000000123, key, tags, &header);
    EXPECT_EQ(flags, Envelope::kExpiry | Envelope::kKey | Envelope::kTags);
    EXPECT_LT(flags, 10u); // one digit in every reply
    std::string item = header + std::string("val\0ue", 6);
    Envelope e = Envelope::decode(flags, item);
    EXPECT_EQ(e.generation, 77u);
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
    std::string header;
    Envelope::encode(5, 0, Bytes(), Bytes(), &header);
    EXPECT_EQ(status_of(0, header + "v"), 0);
    EXPECT_EQ(status_of(12345, header + "v"), CACHE_ECORRUPT); // flags we never write
    EXPECT_EQ(status_of(8, header + "v"), CACHE_ECORRUPT);     // a newer format bit
    EXPECT_EQ(status_of(0, "a plain value"), CACHE_ECORRUPT);  // no mark
    EXPECT_EQ(status_of(0, "u1234567"), CACHE_ECORRUPT);       // too short for the header
    // An empty item without flags is a lease stub (memcached_leases.cpp),
    // not a foreign item: it decodes to generation 0, which no prefix has.
    EXPECT_EQ(status_of(0, ""), 0);
    EXPECT_EQ(Envelope::decode(0, "").generation, 0u);
    EXPECT_EQ(status_of(Envelope::kExpiry, ""), CACHE_ECORRUPT);
    EXPECT_EQ(status_of(Envelope::kExpiry, header + "short"), CACHE_ECORRUPT);
    EXPECT_EQ(status_of(Envelope::kKey, header + std::string("\x09\0\0\0abc", 7)), CACHE_ECORRUPT);
    std::string item = header + std::string("\x05\0\0\0\x09"
                                            "abcv",
                                            10); // a 5-byte tag section that claims 9
    Envelope e = Envelope::decode(Envelope::kTags, item);
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

TEST(EntryBatch, MatchesRepliesInAnyOrderWithMissesAndRepeats)
{
    EntryBatch b;
    for (int round = 0; round < 2; round++) { // reused: reset() starts afresh
        std::vector<std::string> names;
        for (int i = 0; i < 40; i++)
            names.push_back("u" + std::to_string(i));
        names.push_back("u3"); // asked twice
        b.reset(names.size());
        for (size_t i = 0; i < names.size(); i++) {
            if (names[i] == "u7") { // named by a digest the batch keeps
                size_t start = b.digests()->size();
                b.digests()->append("u7");
                b.digest(i, start, 100 + i);
            } else {
                b.name(i, names[i], 100 + i);
            }
        }
        b.seal();
        ASSERT_EQ(b.size(), names.size());
        EXPECT_TRUE(b.hashed(7));
        EXPECT_FALSE(b.hashed(8));
        EXPECT_EQ(b.name(7), "u7");
        EXPECT_NE(b.name(7).data(), names[7].data());
        EXPECT_EQ(b.name(40), "u3");
        EXPECT_EQ(b.name(40).data(), names[40].data()); // the caller's bytes, not a copy
        EXPECT_EQ(b.generation(9), 109u);
        // In order, one miss (u1), then a jump past the look-ahead.
        EXPECT_EQ(b.match("u0"), 0u);
        EXPECT_EQ(b.match("u2"), 2u);
        EXPECT_EQ(b.match("u30"), 30u);
        // Back to the start, as replies of a second server would.
        EXPECT_EQ(b.match("u3"), 3u);
        EXPECT_EQ(b.match("u3"), 40u);
        EXPECT_EQ(b.match("u3"), EntryBatch::npos); // answered more often than asked
        EXPECT_EQ(b.match("nobody"), EntryBatch::npos);
        EXPECT_EQ(b.match("u39"), 39u);
        EXPECT_EQ(b.match("u1"), 1u);
        EXPECT_EQ(b.match("u1"), EntryBatch::npos);
        EXPECT_EQ(b.match("u7"), 7u);
        EXPECT_EQ(b.match("u8"), 8u); // the next one, on the fast path
        const char *const *p = b.names();
        EXPECT_EQ(std::string(p[5], b.lengths()[5]), "u5");
        EXPECT_EQ(std::string(p[7], b.lengths()[7]), "u7");
    }
}

} // namespace unicache
