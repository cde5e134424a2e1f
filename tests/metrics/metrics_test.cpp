// cache_stats_prometheus, read back with Debian's python3-prometheus-client
// parser (what a Prometheus server accepts): families, types, HELP, the
// backend and tier labels, histograms whose buckets add up, counters that
// match the JSON statistics, and no password anywhere.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "support/server_process.h"
#include "unicache.h"

using unicache_test::ServerProcess;

namespace {

const char kSecret[] = "Pw-prom-61b2";

std::string take(cache_buf *b)
{
    std::string s(static_cast<const char *>(b->data), b->size);
    cache_buf_free(b);
    return s;
}

std::string scrape(cache_t *c)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_stats_prometheus(c, &b), CACHE_OK) << cache_last_error();
    return take(&b);
}

// Runs the official parser over text; returns one line per sample,
// "family|type|sample name|labels as k=v,k=v (sorted)|value", or the
// parser's error as "ERROR ...".
std::string parsed(const std::string &text)
{
    char in[] = "/tmp/unicache-prom-XXXXXX";
    int fd = mkstemp(in);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
    close(fd);
    std::string out = std::string(in) + ".out";
    std::string cmd =
        "/usr/bin/python3 -c '"
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families as parse\n"
        "try:\n"
        "    for f in parse(open(sys.argv[1]).read()):\n"
        "        assert f.documentation, f.name\n"
        "        for s in f.samples:\n"
        "            labels = \",\".join(\"%s=%s\" % kv for kv in sorted(s.labels.items()))\n"
        "            print(\"%s|%s|%s|%s|%r\" % (f.name, f.type, s.name, labels, s.value))\n"
        "except Exception as e:\n"
        "    print(\"ERROR %s\" % e)\n"
        "' " +
        std::string(in) + " > " + out + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream f(out);
    std::stringstream ss;
    ss << f.rdbuf();
    std::remove(in);
    std::remove(out.c_str());
    return ss.str();
}

bool has(const std::string &parsed_text, const std::string &line_start)
{
    std::istringstream in(parsed_text);
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, line_start.size(), line_start) == 0)
            return true;
    return false;
}

// The value of the first sample line starting with line_start.
double value_of(const std::string &parsed_text, const std::string &line_start)
{
    std::istringstream in(parsed_text);
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, line_start.size(), line_start) == 0)
            return std::atof(line.substr(line.rfind('|') + 1).c_str());
    ADD_FAILURE() << "no sample " << line_start << " in\n" << parsed_text;
    return -1;
}

int set_str(cache_t *c, const std::string &k, const std::string &v)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE);
}

int get_str(cache_t *c, const std::string &k)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    cache_buf_free(&b);
    return rc;
}

} // namespace

TEST(Prometheus, ArgumentErrors)
{
    cache_buf b = {reinterpret_cast<void *>(1), 5};
    EXPECT_EQ(cache_stats_prometheus(nullptr, &b), CACHE_EINVAL);
    EXPECT_EQ(b.data, nullptr);
    EXPECT_EQ(b.size, 0u);
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://", &c), CACHE_OK);
    EXPECT_EQ(cache_stats_prometheus(c, nullptr), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("NULL"), std::string::npos);
    cache_close(c);
}

TEST(Prometheus, MemoryCountersAndHistogramsParse)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://?max_items=100", &c), CACHE_OK);
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK);
    int hits = 0;
    for (int i = 0; i < 400; i++)
        hits += get_str(c, "k" + std::to_string(i % 60)) == CACHE_OK; // 50 of 60 keys hit
    ASSERT_EQ(hits, 340);
    std::string text = scrape(c);
    std::string p = parsed(text);
    ASSERT_EQ(p.find("ERROR"), std::string::npos) << p << "\n" << text;
    const std::string l = "backend=memory,tier=cache";
    EXPECT_EQ(value_of(p, "unicache_hits|counter|unicache_hits_total|" + l + "|"), 340);
    EXPECT_EQ(value_of(p, "unicache_misses|counter|unicache_misses_total|" + l + "|"), 60);
    EXPECT_EQ(value_of(p, "unicache_sets|counter|unicache_sets_total|" + l + "|"), 50);
    EXPECT_EQ(value_of(p, "unicache_entries|gauge|unicache_entries|" + l + "|"), 50);
    const std::string lop = "backend=memory,op=get,tier=cache";
    EXPECT_EQ(value_of(p, "unicache_operations|counter|unicache_operations_total|" + lop + "|"),
              400);
    // The histogram: cumulative buckets, +Inf equal to _count, _sum > 0.
    const std::string h = "unicache_operation_duration_seconds|histogram|";
    double count = value_of(p, h + "unicache_operation_duration_seconds_count|" + lop + "|");
    EXPECT_GT(count, 0); // about 400 / 16 calls are timed
    EXPECT_LE(count, 400);
    EXPECT_EQ(value_of(p, h + "unicache_operation_duration_seconds_bucket|backend=memory,"
                              "le=+Inf,op=get,tier=cache|"),
              count);
    EXPECT_GT(value_of(p, h + "unicache_operation_duration_seconds_sum|" + lop + "|"), 0);
    EXPECT_TRUE(has(p, h + "unicache_operation_duration_seconds_bucket|backend=memory,"
                           "le=1.024e-06,op=get,tier=cache|"))
        << p;
    // HELP and TYPE lines come once per family, before its samples.
    EXPECT_NE(text.find("# HELP unicache_hits_total "), std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE unicache_hits_total counter\n"), std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE unicache_operation_duration_seconds histogram\n"),
              std::string::npos);
    cache_close(c);
}

TEST(Prometheus, LatencyOffLeavesTheHistogramsOut)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://?latency=off", &c), CACHE_OK);
    get_str(c, "k");
    std::string text = scrape(c);
    EXPECT_EQ(text.find("unicache_operation_duration_seconds"), std::string::npos) << text;
    EXPECT_NE(text.find("unicache_misses_total{backend=\"memory\",tier=\"cache\"} 1\n"),
              std::string::npos)
        << text;
    cache_close(c);
    cache_t *bad = nullptr;
    EXPECT_EQ(cache_open("memory://?latency=maybe", &bad), CACHE_EINVAL);
    EXPECT_EQ(bad, nullptr);
}

TEST(Prometheus, TieredCacheHasATierLabelPerTierAndNoPassword)
{
    ServerProcess redis = ServerProcess::redis({"--requirepass", kSecret});
    redis.start();
    std::string l2 =
        "redis://:" + std::string(kSecret) + "@127.0.0.1:" + std::to_string(redis.port()) + "/0";
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open((R"({"tiers": ["memory://", ")" + l2 + R"("]})").c_str(), &c), CACHE_OK)
        << cache_last_error();
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK);
    for (int i = 0; i < 100; i++)
        get_str(c, "k" + std::to_string(i % 30));
    std::string text = scrape(c);
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find("61b2"), std::string::npos) << text;
    std::string p = parsed(text);
    ASSERT_EQ(p.find("ERROR"), std::string::npos) << p << "\n" << text;
    EXPECT_EQ(value_of(p, "unicache_operations|counter|unicache_operations_total|"
                          "backend=tiered,op=get,tier=cache|"),
              100);
    // Each tier has its own histograms: L1 saw every get, L2 the misses of L1.
    EXPECT_EQ(value_of(p, "unicache_operations|counter|unicache_operations_total|"
                          "backend=memory,op=get,tier=1|"),
              100);
    double l2_gets = value_of(p, "unicache_operations|counter|unicache_operations_total|"
                                 "backend=redis,op=get,tier=2|");
    EXPECT_GE(l2_gets, 10); // the 10 absent keys, each time
    EXPECT_LT(l2_gets, 100);
    EXPECT_TRUE(has(p, "unicache_breaker_open|gauge|unicache_breaker_open|backend=redis,tier=2|0"))
        << p;
    // The JSON document nests the same per-tier latency.
    cache_buf j = {nullptr, 0};
    ASSERT_EQ(cache_stats_json(c, &j), CACHE_OK);
    std::string json = take(&j);
    cJSON *doc = cJSON_Parse(json.c_str());
    ASSERT_NE(doc, nullptr) << json;
    cJSON *tiers = cJSON_GetObjectItem(doc, "tiers");
    ASSERT_EQ(cJSON_GetArraySize(tiers), 2);
    cJSON *get1 = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(tiers, 0), "latency"), "get"),
        "count");
    ASSERT_NE(get1, nullptr) << json;
    EXPECT_EQ(get1->valuedouble, 100);
    EXPECT_EQ(json.find("le_ns"), std::string::npos) << "buckets are for Prometheus only: " << json;
    cJSON_Delete(doc);
    cache_close(c);
}
