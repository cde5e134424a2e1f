// StatsPart: one layer's named part of the statistics document. The core
// writes its counters, each backend its own numbers, and a backend made of
// backends (tiers) gives each child a part of its own to fill: no layer
// formats another's numbers.
#pragma once

#include <cstdint>
#include <string>

struct cJSON;

namespace unicache {

class StatsPart {
public:
    // detail: also write what only machines read (the latency buckets that
    // cache_stats_prometheus needs), not part of cache_stats_json.
    explicit StatsPart(cJSON *object, bool detail = false) : obj_(object), detail_(detail) {}
    bool detail() const { return detail_; }

    // A negative count means "cannot tell" and is written as null.
    void count(const char *name, int64_t v);
    void number(const char *name, double v);
    void text(const char *name, const std::string &v);
    // A nested object under name (created on first use).
    StatsPart object(const char *name);
    // A new object appended to the array under name (created on first use).
    StatsPart append(const char *name);

    // An array of numbers under name.
    void numbers(const char *name, const double *v, size_t n);

private:
    cJSON *obj_;
    bool detail_;
};

} // namespace unicache
