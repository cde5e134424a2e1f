#include "core/prometheus.h"

#include <cjson/cJSON.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "core/latency.h"

namespace unicache {

namespace {

// Label values: backslash, double quote and newline escaped.
std::string escape(const std::string &v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\', out += c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string number(double v)
{
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v))
        return "NaN";
    char buf[40];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

struct Family {
    std::string type, help;
    std::vector<std::string> samples;
};

// Families in the order first seen; each family's samples together, as
// the format requires.
class Exposition {
public:
    void add(const std::string &family, const char *type, const char *help,
             const std::string &suffix, const std::string &labels, double value)
    {
        auto it = index_.find(family);
        if (it == index_.end()) {
            it = index_.emplace(family, families_.size()).first;
            families_.push_back({family, Family{type, help, {}}});
        }
        families_[it->second].second.samples.push_back(family + suffix + "{" + labels + "} " +
                                                       number(value));
    }
    std::string text() const
    {
        std::string out;
        for (const auto &f : families_) {
            out += "# HELP " + f.first + " " + f.second.help + "\n";
            out += "# TYPE " + f.first + " " + f.second.type + "\n";
            for (const auto &s : f.second.samples)
                out += s + "\n";
        }
        return out;
    }

private:
    std::map<std::string, size_t> index_;
    std::vector<std::pair<std::string, Family>> families_;
};

const cJSON *field(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

struct CounterField {
    const char *field, *family, *help;
};

const CounterField kCounters[] = {
    {"hits", "unicache_hits_total", "Lookups that found a live entry."},
    {"misses", "unicache_misses_total", "Lookups that found no live entry."},
    {"sets", "unicache_sets_total", "Entries stored (set, add that stored, incr, batch items)."},
    {"deletes", "unicache_deletes_total", "Entries removed by delete, pattern, tag or expire_at."},
    {"errors", "unicache_errors_total", "Calls that returned an error status."},
    {"evictions", "unicache_evictions_total", "Entries the backend evicted to make room."},
    {"expirations", "unicache_expirations_total", "Entries the backend dropped as expired."},
    {"promotions", "unicache_promotions_total",
     "Entries a tiered cache copied from a lower tier into the tiers above."},
    {"stale_served", "unicache_stale_served_total",
     "Reads a tiered cache served from a stale copy while its lowest tier was down."},
    {"fallback_reads", "unicache_fallback_reads_total",
     "Reads a tiered cache served from its fallback."},
};

const CounterField kGauges[] = {
    {"size", "unicache_entries", "Entries stored under this cache's prefix."},
    {"memory_bytes", "unicache_memory_bytes", "Bytes those entries occupy, overhead included."},
};

void write_latency(Exposition &x, const cJSON *latency, const std::string &labels)
{
    const cJSON *op;
    cJSON_ArrayForEach(op, latency)
    {
        std::string l = labels + ",op=\"" + escape(op->string) + "\"";
        const cJSON *count = field(op, "count");
        if (cJSON_IsNumber(count))
            x.add("unicache_operations_total", "counter",
                  "Calls of each operation, every one counted.", "", l, count->valuedouble);
        const cJSON *h = field(op, "histogram");
        const cJSON *buckets = field(h, "le_ns");
        const cJSON *counts = field(h, "cumulative");
        if (!cJSON_IsArray(buckets) || !cJSON_IsArray(counts))
            continue;
        const char *family = "unicache_operation_duration_seconds";
        const char *help = "How long operations took, from one call in about 64 per thread "
                           "(sampled; unicache_operations_total counts every call).";
        int n = cJSON_GetArraySize(buckets);
        for (int i = 0; i < n && i < cJSON_GetArraySize(counts); i++) {
            double le_s = cJSON_GetArrayItem(buckets, i)->valuedouble / 1e9;
            x.add(family, "histogram", help, "_bucket", l + ",le=\"" + number(le_s) + "\"",
                  cJSON_GetArrayItem(counts, i)->valuedouble);
        }
        double timed = cJSON_GetNumberValue(field(h, "timed"));
        x.add(family, "histogram", help, "_bucket", l + ",le=\"+Inf\"", timed);
        x.add(family, "histogram", help, "_sum", l, cJSON_GetNumberValue(field(h, "sum_ns")) / 1e9);
        x.add(family, "histogram", help, "_count", l, timed);
    }
}

void write_part(Exposition &x, const cJSON *part, const std::string &tier)
{
    const cJSON *backend = field(part, "backend");
    std::string labels = "backend=\"" +
                         escape(cJSON_IsString(backend) ? backend->valuestring : "") +
                         "\",tier=\"" + escape(tier) + "\"";
    for (const CounterField &c : kCounters) {
        const cJSON *v = field(part, c.field);
        if (cJSON_IsNumber(v))
            x.add(c.family, "counter", c.help, "", labels, v->valuedouble);
    }
    for (const CounterField &g : kGauges) {
        const cJSON *v = field(part, g.field);
        if (cJSON_IsNumber(v)) // null: the backend cannot tell
            x.add(g.family, "gauge", g.help, "", labels, v->valuedouble);
    }
    const cJSON *breaker = field(part, "breaker");
    if (cJSON_IsObject(breaker)) {
        const cJSON *state = field(breaker, "state");
        bool open = cJSON_IsString(state) && std::string(state->valuestring) != "closed";
        x.add("unicache_breaker_open", "gauge",
              "1 while the tier's circuit breaker is open or half-open, else 0.", "", labels,
              open ? 1 : 0);
        const cJSON *opened = field(breaker, "opened");
        if (cJSON_IsNumber(opened))
            x.add("unicache_breaker_opened_total", "counter",
                  "Times the tier's circuit breaker opened.", "", labels, opened->valuedouble);
    }
    const cJSON *latency = field(part, "latency");
    if (cJSON_IsObject(latency))
        write_latency(x, latency, labels);
    const cJSON *tiers = field(part, "tiers");
    if (cJSON_IsArray(tiers)) {
        int i = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, tiers)
        {
            i++;
            write_part(x, t, (tier == "cache" ? "" : tier + ".") + std::to_string(i));
        }
    }
    const cJSON *fallback = field(part, "fallback");
    if (cJSON_IsObject(fallback))
        write_part(x, fallback, tier == "cache" ? "fallback" : tier + ".fallback");
}

} // namespace

std::string prometheus_text(const cJSON *doc)
{
    Exposition x;
    write_part(x, doc, "cache");
    return x.text();
}

} // namespace unicache
