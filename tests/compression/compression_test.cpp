// compress=zstd|lz4 on every backend: values go in compressed when they are
// at least compress_threshold long and shrink, come back as given through
// any handle (one opened without compress= too), and stored bytes that are
// not what they claim are a clear error, never a crash or an allocation of
// what a crafted header claims. The stored bytes are looked at, and
// crafted, through the backend itself, under the core.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "backends/registry.h"
#include "compose/open_cache.h"
#include "core/config.h"
#include "core/value_codec.h"
#include "redis/redis_server.h"
#include "sqlite/sqlite_temp_dir.h"
#include "support/cache_io.h"
#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using unicache::Backend;
using unicache::OwnedBuffer;

ServerProcess &memcached_server()
{
    static ServerProcess server = ServerProcess::memcached();
    server.start();
    return server;
}

SqliteTempDir &sqlite_dir()
{
    static SqliteTempDir dir("compression");
    return dir;
}

struct Target {
    std::string name;
    std::function<std::string()> uri; // without a query
};

std::string with(const std::string &uri, const std::string &query)
{
    if (query.empty())
        return uri;
    return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

// A JSON document of about 10 KB: what compression is for.
std::string json_value()
{
    std::string s = "[";
    for (int i = 0; s.size() < 10000; i++)
        s += "{\"id\":" + std::to_string(i) + ",\"name\":\"user " + std::to_string(i) +
             "\",\"active\":true,\"tags\":[\"a\",\"b\"]},";
    s.back() = ']';
    return s;
}

std::string random_bytes(size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char &c : s)
        c = char(rng());
    return s;
}

std::string header(unsigned codec, uint64_t size)
{
    std::string h = "\xF5ucz";
    h.push_back(char(codec));
    for (int i = 0; i < 8; i++)
        h.push_back(char((size >> (8 * i)) & 0xff));
    return h;
}

void PrintTo(const Target &t, std::ostream *os)
{
    *os << t.name;
}

class Compression : public ::testing::TestWithParam<Target> {
protected:
    void SetUp() override
    {
        base = GetParam().uri();
        unicache::Config cfg = unicache::Config::parse(base);
        raw = unicache::open_backend(cfg);
        std::string key = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (char &ch : key)
            if (ch == '/')
                ch = '_';
        k = "cz:" + key;
        writer = open_uri(with(base, "compress=zstd&compress_threshold=64"));
        reader = open_uri(base);
    }
    void TearDown() override
    {
        cache_close(writer);
        cache_close(reader);
    }
    cache_t *open_uri(const std::string &uri)
    {
        cache_t *c = nullptr;
        EXPECT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << uri << ": " << cache_last_error();
        return c;
    }
    // The bytes the backend holds for key.
    std::string stored(const std::string &key)
    {
        OwnedBuffer b;
        if (!raw->get(key, &b))
            return "<absent>";
        return std::string(b.view());
    }
    void plant(const std::string &key, const std::string &bytes) { raw->set(key, bytes, 0); }

    std::string base, k;
    std::unique_ptr<Backend> raw;
    cache_t *writer = nullptr, *reader = nullptr;
};

TEST_P(Compression, EachCodecStoresLessAndEveryHandleReadsIt)
{
    const std::string v = json_value();
    for (std::string codec : {"zstd", "lz4"}) {
        cache_t *w = open_uri(with(base, "compress=" + codec));
        ASSERT_EQ(set_string(w, k, v), CACHE_OK) << cache_last_error();
        std::string s = stored(k);
        ASSERT_TRUE(unicache::is_frame(s)) << codec;
        EXPECT_EQ(s[4], codec == "zstd" ? 1 : 2);
        EXPECT_LT(s.size(), v.size() / 3) << codec; // JSON shrinks to a fraction
        EXPECT_EQ(get_string(w, k), v);
        // A handle opened without compress=, and one with the other codec.
        EXPECT_EQ(get_string(reader, k), v) << codec;
        EXPECT_EQ(get_string(writer, k), v) << codec;
        cache_close(w);
    }
}

TEST_P(Compression, OldEntriesWithoutAFrameStillRead)
{
    plant(k, "stored before compression existed");
    EXPECT_EQ(get_string(writer, k), "stored before compression existed");
    plant(k, json_value());
    EXPECT_EQ(get_string(writer, k), json_value());
    EXPECT_EQ(get_string(reader, k), json_value());
}

TEST_P(Compression, ThresholdIsInclusiveAndShortValuesStayRaw)
{
    cache_t *w = open_uri(with(base, "compress=zstd&compress_threshold=200"));
    std::string below(199, 'a'), at(200, 'a');
    ASSERT_EQ(set_string(w, k, below), CACHE_OK);
    EXPECT_EQ(stored(k), below);
    ASSERT_EQ(set_string(w, k, at), CACHE_OK);
    EXPECT_TRUE(unicache::is_frame(stored(k)));
    EXPECT_EQ(get_string(reader, k), at);
    // The default threshold (1024) leaves a 1023-byte value alone.
    cache_t *d = open_uri(with(base, "compress=lz4"));
    ASSERT_EQ(set_string(d, k, std::string(1023, 'b')), CACHE_OK);
    EXPECT_EQ(stored(k), std::string(1023, 'b'));
    ASSERT_EQ(set_string(d, k, std::string(1024, 'b')), CACHE_OK);
    EXPECT_TRUE(unicache::is_frame(stored(k)));
    cache_close(w);
    cache_close(d);
}

TEST_P(Compression, IncompressibleValuesAreStoredRaw)
{
    std::string v = random_bytes(10000, 7);
    if (unicache::is_frame(v))
        v[0] = 'x';
    for (std::string codec : {"zstd", "lz4"}) {
        cache_t *w = open_uri(with(base, "compress=" + codec + "&compress_threshold=0"));
        ASSERT_EQ(set_string(w, k, v), CACHE_OK);
        EXPECT_EQ(stored(k), v) << codec;
        EXPECT_EQ(get_string(w, k), v);
        cache_close(w);
    }
}

TEST_P(Compression, CountersStayRaw)
{
    cache_int64 r = 0;
    ASSERT_EQ(cache_incr(writer, k.data(), k.size(), 41, &r), CACHE_OK);
    ASSERT_EQ(cache_incr(writer, k.data(), k.size(), 1, &r), CACHE_OK);
    EXPECT_EQ(r, 42);
    EXPECT_EQ(stored(k), "42");
    EXPECT_EQ(get_string(writer, k), "42");
    // A long decimal value set at threshold 0 shrinks, but incr must read it.
    cache_t *all = open_uri(with(base, "compress=lz4&compress_threshold=0"));
    const std::string digits = std::string(200, '0') + "7";
    ASSERT_EQ(set_string(all, k, digits), CACHE_OK);
    EXPECT_EQ(stored(k), digits);
    ASSERT_EQ(cache_incr(all, k.data(), k.size(), 1, &r), CACHE_OK) << cache_last_error();
    EXPECT_EQ(r, 8);
    cache_close(all);
}

TEST_P(Compression, ValuesThatLookLikeAFrameComeBackAsGiven)
{
    // Written through a handle without compress= and one with: escaped, so
    // nobody mistakes them for a frame.
    const std::string looks = header(1, 5) + "hello";
    const std::string bare = "\xF5ucz";
    for (cache_t *c : {reader, writer}) {
        ASSERT_EQ(set_string(c, k, looks), CACHE_OK);
        EXPECT_EQ(get_string(reader, k), looks);
        EXPECT_EQ(get_string(writer, k), looks);
        ASSERT_EQ(set_string(c, k, bare), CACHE_OK);
        EXPECT_EQ(get_string(reader, k), bare);
    }
}

const char kCanary = char(0xA5);

void expect_read_fails(cache_t *c, const std::string &key, int status, const std::string &says)
{
    int rc = 0;
    get_string(c, key, &rc);
    EXPECT_EQ(rc, status) << "get of " << key;
    EXPECT_NE(std::string(cache_last_error()).find(says), std::string::npos) << cache_last_error();
    // Room for what the frame claims (else ETOOBIG asks for a larger one);
    // a failed read leaves every byte of it as it was.
    std::string dst(20000, kCanary);
    size_t size = 123;
    EXPECT_EQ(cache_get_into(c, key.data(), key.size(), &dst[0], dst.size(), &size), status);
    EXPECT_EQ(size, 0u);
    EXPECT_EQ(dst, std::string(20000, kCanary))
        << "get_into wrote into the buffer of a failed read";
    cache_slice ks[2] = {{key.data(), key.size()}, {"nope", 4}};
    cache_buf vals[2];
    int st[2];
    EXPECT_EQ(cache_get_many(c, ks, 2, vals, st), status);
}

TEST_P(Compression, CraftedOrDamagedFramesAreClearErrors)
{
    // Claims a terabyte: refused before anything is allocated for it.
    plant(k, header(1, uint64_t(1) << 40) + "tiny");
    expect_read_fails(reader, k, CACHE_ETOOBIG, "max_decompressed");
    // Within the limit, but the payload is not what it claims.
    plant(k, header(1, 100) + "not zstd at all");
    expect_read_fails(reader, k, CACHE_ECORRUPT, "zstd");
    plant(k, header(2, 100) + "\xff\xff\xff not lz4");
    expect_read_fails(reader, k, CACHE_ECORRUPT, "lz4");
    plant(k, header(0, 100) + "short");
    expect_read_fails(reader, k, CACHE_ECORRUPT, "claims 100");
    plant(k, std::string("\xF5ucz\x01\x02", 6));
    expect_read_fails(reader, k, CACHE_ECORRUPT, "truncated");
    plant(k, header(9, 10) + "0123456789");
    expect_read_fails(reader, k, CACHE_EVERSION, "codec 9");
    // A real frame with one byte of its payload changed.
    ASSERT_EQ(set_string(writer, k, json_value()), CACHE_OK);
    std::string s = stored(k);
    s[s.size() / 2] ^= 0x5a;
    s.resize(s.size() - 3);
    plant(k, s);
    expect_read_fails(reader, k, CACHE_ECORRUPT, "zstd");
}

TEST_P(Compression, MaxDecompressedBoundsWhatAHandleReads)
{
    const std::string v = json_value();
    ASSERT_EQ(set_string(writer, k, v), CACHE_OK);
    cache_t *small = open_uri(with(base, "max_decompressed=1000"));
    expect_read_fails(small, k, CACHE_ETOOBIG, "max_decompressed=1000");
    cache_t *exact = open_uri(with(base, "max_decompressed=" + std::to_string(v.size())));
    EXPECT_EQ(get_string(exact, k), v);
    cache_close(small);
    cache_close(exact);
}

TEST_P(Compression, GetIntoAndBatchesDecompress)
{
    const std::string v = json_value();
    ASSERT_EQ(set_string(writer, k, v), CACHE_OK);
    ASSERT_TRUE(unicache::is_frame(stored(k)));
    // Room for the frame but not the value: the value's size comes back.
    std::string dst(stored(k).size() + 10, '\0');
    size_t size = 0;
    EXPECT_EQ(cache_get_into(reader, k.data(), k.size(), &dst[0], dst.size(), &size),
              CACHE_ETOOBIG);
    EXPECT_EQ(size, v.size());
    // No room even for the frame.
    size = 0;
    EXPECT_EQ(cache_get_into(reader, k.data(), k.size(), &dst[0], 8, &size), CACHE_ETOOBIG);
    EXPECT_EQ(size, v.size());
    dst.assign(v.size(), '\0');
    EXPECT_EQ(cache_get_into(reader, k.data(), k.size(), &dst[0], dst.size(), &size), CACHE_OK);
    EXPECT_EQ(size, v.size());
    EXPECT_EQ(dst, v);

    // set_many through the compressing handle, get_many through both.
    std::string k2 = k + ":2", k3 = k + ":3";
    std::string small = "small";
    cache_slice keys[3] = {{k.data(), k.size()}, {k2.data(), k2.size()}, {k3.data(), k3.size()}};
    cache_slice vals[3] = {{v.data(), v.size()}, {small.data(), small.size()}, {v.data(), 5000}};
    ASSERT_EQ(cache_set_many(writer, keys, vals, 3, CACHE_TTL_NONE), CACHE_OK);
    EXPECT_TRUE(unicache::is_frame(stored(k3)));
    EXPECT_EQ(stored(k2), "small");
    for (cache_t *c : {reader, writer}) {
        cache_buf out[3];
        int st[3];
        ASSERT_EQ(cache_get_many(c, keys, 3, out, st), CACHE_OK);
        EXPECT_EQ(std::string(static_cast<char *>(out[0].data), out[0].size), v);
        EXPECT_EQ(std::string(static_cast<char *>(out[1].data), out[1].size), "small");
        EXPECT_EQ(std::string(static_cast<char *>(out[2].data), out[2].size), v.substr(0, 5000));
        for (auto &b : out)
            cache_buf_free(&b);
    }
}

TEST_P(Compression, GetIntoWritesNothingUnlessTheValueFits)
{
    // cache_get_into promises an untouched buffer on CACHE_ETOOBIG: a
    // buffer that holds the compressed bytes, but not the value, must not
    // receive them.
    const std::string v = json_value();
    ASSERT_EQ(set_string(writer, k, v), CACHE_OK);
    const size_t frame = stored(k).size();
    ASSERT_TRUE(unicache::is_frame(stored(k)));
    ASSERT_LT(frame, v.size());
    for (cache_t *c : {reader, writer}) {
        for (size_t capacity : {v.size() - 1, frame, frame - 1, frame + 1, size_t(13)}) {
            // The canary runs past capacity too: nothing is written beyond it either.
            std::string dst(v.size() + 64, kCanary);
            size_t size = 0;
            EXPECT_EQ(cache_get_into(c, k.data(), k.size(), &dst[0], capacity, &size),
                      CACHE_ETOOBIG)
                << "capacity " << capacity;
            EXPECT_EQ(size, v.size()) << "capacity " << capacity;
            EXPECT_EQ(dst, std::string(v.size() + 64, kCanary))
                << "capacity " << capacity << " (frame " << frame << " bytes): the buffer changed";
        }
        // Exactly the value's length: the value, and nothing past it.
        std::string dst(v.size() + 64, kCanary);
        size_t size = 0;
        ASSERT_EQ(cache_get_into(c, k.data(), k.size(), &dst[0], v.size(), &size), CACHE_OK)
            << cache_last_error();
        EXPECT_EQ(size, v.size());
        EXPECT_EQ(dst.substr(0, v.size()), v);
        EXPECT_EQ(dst.substr(v.size()), std::string(64, kCanary));
    }
    // An uncompressed value one byte too long for the buffer: untouched too.
    ASSERT_EQ(set_string(reader, k, "0123456789abcdef"), CACHE_OK);
    std::string dst(32, kCanary);
    size_t size = 0;
    EXPECT_EQ(cache_get_into(reader, k.data(), k.size(), &dst[0], 15, &size), CACHE_ETOOBIG);
    EXPECT_EQ(size, 16u);
    EXPECT_EQ(dst, std::string(32, kCanary));
}

std::vector<Target> targets()
{
    std::vector<Target> t = {
        {"memory", [] { return std::string("memory://?name=compression"); }},
        {"sqlite", [] { return "sqlite://" + sqlite_dir().file("c.db"); }},
        {"redis", [] { return redis_uri(); }},
        {"memcached",
         [] { return "memcached://127.0.0.1:" + std::to_string(memcached_server().port()); }},
    };
    return t;
}

INSTANTIATE_TEST_SUITE_P(Backends, Compression, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target> &i) { return i.param.name; });

// A value another program stored that begins with the frame mark: what
// every reader gets. Never the bytes misread as a frame's payload: a clear
// CACHE_ECORRUPT, unless it is a well-formed frame (then it is one, whoever
// wrote it). memcached needs no case: an item without unicache's envelope
// is refused before its value is looked at (memcached_test).
class ForeignValue : public ::testing::Test {
protected:
    // Runs a shell command with file as its standard input; its exit status.
    static int run(const std::string &command, const std::string &input)
    {
        std::string file = sqlite_dir().file("foreign.in");
        std::FILE *f = std::fopen(file.c_str(), "wb");
        if (!f)
            return -1;
        std::fwrite(input.data(), 1, input.size(), f);
        std::fclose(f);
        return std::system((command + " < '" + file + "' > /dev/null").c_str());
    }
    static void expect_refused(const std::string &uri, const std::string &key)
    {
        for (const std::string &query : {std::string(), std::string("compress=zstd")}) {
            cache_t *c = nullptr;
            ASSERT_EQ(cache_open(with(uri, query).c_str(), &c), CACHE_OK) << cache_last_error();
            int rc = 0;
            EXPECT_EQ(get_string(c, key, &rc), "");
            EXPECT_EQ(rc, CACHE_ECORRUPT) << uri;
            const std::string says = cache_last_error();
            EXPECT_NE(says.find("frame mark (F5 75 63 7A)"), std::string::npos) << says;
            EXPECT_NE(says.find("another program"), std::string::npos) << says;
            std::string dst(256, kCanary);
            size_t size = 1;
            EXPECT_EQ(cache_get_into(c, key.data(), key.size(), &dst[0], dst.size(), &size),
                      CACHE_ECORRUPT);
            EXPECT_EQ(dst, std::string(256, kCanary));
            cache_close(c);
        }
    }
};

const std::string kForeign = std::string("\xF5ucz") + "hello from another program";
// The mark, a codec byte unicache writes (zstd), a length, and no zstd.
const std::string kForeignZstd = header(1, 5) + "hello";
// A well-formed codec-0 frame: a frame, whoever wrote it.
const std::string kForeignFrame = header(0, 5) + "hello";

TEST_F(ForeignValue, RedisCliValuesStartingWithTheMark)
{
    const std::string uri = redis_uri();
    const std::string cli = "redis-cli -h 127.0.0.1 -p " + std::to_string(shared_redis().port());
    unicache::Config cfg = unicache::Config::parse(uri);
    std::unique_ptr<Backend> raw = unicache::open_backend(cfg);
    for (const std::string &v : {kForeign, kForeignZstd}) {
        ASSERT_EQ(run(cli + " -x SET foreign:k", v), 0);
        OwnedBuffer b;
        ASSERT_TRUE(raw->get("foreign:k", &b));
        ASSERT_EQ(std::string(b.view()), v) << "redis-cli stored other bytes";
        expect_refused(uri, "foreign:k");
    }
    ASSERT_EQ(run(cli + " -x SET foreign:k", kForeignFrame), 0);
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK);
    EXPECT_EQ(get_string(c, "foreign:k"), "hello");
    cache_close(c);
}

TEST_F(ForeignValue, Sqlite3ShellValuesStartingWithTheMark)
{
    const std::string db = sqlite_dir().file("foreign.db");
    const std::string uri = "sqlite://" + db;
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error(); // creates it
    auto hex = [](const std::string &v) {
        std::string out;
        char b[3];
        for (unsigned char ch : v) {
            std::snprintf(b, sizeof b, "%02X", ch);
            out += b;
        }
        return out;
    };
    for (const std::string &v : {kForeign, kForeignZstd}) {
        ASSERT_EQ(run("sqlite3 -cmd '.timeout 5000' '" + db +
                          "' \"INSERT OR REPLACE INTO cache(key, value) VALUES "
                          "(CAST('foreign:k' AS BLOB), X'" +
                          hex(v) + "')\"",
                      ""),
                  0);
        expect_refused(uri, "foreign:k");
    }
    ASSERT_EQ(run("sqlite3 -cmd '.timeout 5000' '" + db +
                      "' \"INSERT OR REPLACE INTO cache(key, value) VALUES "
                      "(CAST('foreign:k' AS BLOB), X'" +
                      hex(kForeignFrame) + "')\"",
                  ""),
              0);
    EXPECT_EQ(get_string(c, "foreign:k"), "hello");
    cache_close(c);
}

TEST(CompressionParams, BadValuesAreArgumentErrors)
{
    struct Bad {
        std::string uri, says;
    } bad[] = {
        {"memory://?compress=gzip", "compress"},
        {"memory://?compress=zstd&compress_threshold=-1", "compress_threshold"},
        {"memory://?compress_threshold=ten", "compress_threshold"},
        {"memory://?max_decompressed=0", "max_decompressed"},
        {"memory://?max_decompressed=99999999999999", "max_decompressed"},
        {R"({"tiers": ["memory://?compress=zstd", "memory://"]})", "compress"},
    };
    for (const Bad &b : bad) {
        std::string msg;
        EXPECT_EQ(open_with_status(b.uri, &msg), CACHE_EINVAL) << b.uri;
        EXPECT_NE(msg.find(b.says), std::string::npos) << b.uri << ": " << msg;
    }
    // JSON, and a whole tiered cache.
    for (std::string ok : {std::string(R"({"backend":"memory","compress":"lz4"})"),
                           std::string(R"({"tiers": ["memory://", "memory://?name=cz-tier"],)"
                                       R"( "l1_ttl": 1000, "compress": "zstd", )"
                                       R"("compress_threshold": 10})")}) {
        cache_t *c = nullptr;
        ASSERT_EQ(cache_open(ok.c_str(), &c), CACHE_OK) << ok << ": " << cache_last_error();
        std::string v = json_value();
        ASSERT_EQ(set_string(c, "k", v), CACHE_OK);
        EXPECT_EQ(get_string(c, "k"), v);
        EXPECT_NE(stats_of(c).find("\"compress\""), std::string::npos);
        cache_close(c);
    }
}

} // namespace

} // namespace unicache_test
