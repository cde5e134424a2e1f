// Building a tiered cache from its configuration:
//   {"tiers": [L1, L2, ...], "l1_ttl": ms, "stale_if_error": ms, "fallback": ..., ...}
// or the one-line form for the common L1+L2 case:
//   tiered+redis://host:6379/0?l1_max_items=10000&l1_ttl=30000
// where the scheme after "tiered+" names L2, parameters starting with "l1_"
// (other than the tier options below) go to a memory:// L1 without the
// "l1_", the tier options go to the tiers, and the rest go to L2.
#include <climits>

#include "compose/open_cache.h"
#include "compose/tiered_backend.h"
#include "compose/timed_backend.h"
#include "core/error.h"

namespace unicache {

namespace {

// The tier options; in the one-line form these names stay with the tiers.
const char *const kTierOptions[] = {"l1_ttl",        "stale_if_error", "breaker_failures",
                                    "breaker_reset", "outage_writes",  "outage_log_max",
                                    "fallback",      "tiers"};

bool is_tier_option(const std::string &name)
{
    for (const char *o : kTierOptions)
        if (name == o)
            return true;
    return false;
}

// The whole open fails, naming the tier, with the tier's own status.
[[noreturn]] void tier_failed(const std::string &label, const Error &e)
{
    fail(e.status(), label + ": " + e.what());
}

// A tier or the fallback as it will be opened: the whole cache's prefix,
// and none of the options that belong to the whole.
Config part_config(Config c, const Config &whole_cache)
{
    for (const char *whole : {"prefix", "prefix_mode", "default_ttl", "compress",
                              "compress_threshold", "max_decompressed"})
        if (c.params.has(whole))
            fail(CACHE_EINVAL, std::string("'") + whole +
                                   "' applies to the whole tiered cache; give it next to "
                                   "\"tiers\", not inside a tier");
    c.prefix = whole_cache.prefix;
    c.raw_prefix = whole_cache.raw_prefix;
    return c;
}

std::string tier_label(size_t i, const Config &c)
{
    return "tier " + std::to_string(i + 1) + " (" + c.display + ")";
}

// What phase one found: the settings, and each part ready to open.
struct TieredPlan {
    TierSettings settings;
    std::vector<Config> parts; // fastest first
    bool has_fallback = false;
    Config fallback;
};

// Phase one: every option of the tiered layer, then every parameter of
// every tier and of the fallback, before anything is opened.
TieredPlan plan_tiered(Config &config)
{
    TieredPlan plan;
    std::vector<Config> &parts = plan.parts;
    Params one_line; // the tier options, in the one-line form
    Params *options = &config.params;
    if (config.scheme != "tiered") {
        // tiered+<scheme>://...: split the parameters three ways.
        Config l2 = config;
        l2.scheme = config.scheme.substr(7);
        l2.display = config.display.substr(7);
        l2.params = Params();
        Config l1;
        l1.scheme = "memory";
        l1.display = "memory://";
        std::string l1_query;
        // Not those the core took for the whole cache (prefix=, default_ttl=...).
        for (const std::string &name : config.params.names_not_taken()) {
            std::string value = config.params.take_string(name, "");
            if (is_tier_option(name)) {
                one_line.add(name, value);
            } else if (name.compare(0, 3, "l1_") == 0) {
                l1.params.add(name.substr(3), value);
                l1_query += (l1_query.empty() ? "?" : "&") + name.substr(3) + "=" + value;
            } else {
                l2.params.add(name, value);
            }
        }
        l1.display += l1_query;
        if (one_line.has("tiers"))
            fail(CACHE_EINVAL, "'" + config.scheme +
                                   "://' names its tiers itself; 'tiers' belongs in a JSON "
                                   "configuration ({\"tiers\": [...]})");
        parts.push_back(std::move(l1));
        parts.push_back(std::move(l2));
        options = &one_line;
    }

    Params &p = *options;
    bool given = false;
    std::vector<std::string> listed = p.take_list("tiers", &given);
    TierSettings s;
    s.l1_ttl_ms = p.take_int("l1_ttl", 0, 0, INT64_MAX / 4);
    s.stale_if_error_ms = p.take_int("stale_if_error", 0, 0, INT64_MAX / 4);
    s.breaker_failures = int(p.take_int("breaker_failures", 3, 1, 1000000));
    s.breaker_reset_ms = p.take_int("breaker_reset", 2000, 1, 86400000);
    s.write_back = p.take_choice("outage_writes", "drop", {"drop", "write_back"}) == "write_back";
    s.outage_log_max = size_t(p.take_int("outage_log_max", 10000, 0, 100000000));
    std::string fallback_text = p.take_config("fallback");
    p.finish("tiered");
    if (config.scheme == "tiered") {
        if (!given)
            fail(CACHE_EINVAL, "a tiered cache needs \"tiers\": a list of cache URIs or JSON "
                               "objects, fastest first, e.g. {\"tiers\": "
                               "[\"memory://?max_items=10000\", \"redis://127.0.0.1:6379/0\"]}");
        if (listed.empty())
            fail(CACHE_EINVAL, "\"tiers\" is empty: list at least one cache URI or JSON object");
        for (size_t i = 0; i < listed.size(); i++) {
            try {
                parts.push_back(Config::parse(listed[i]));
            } catch (const Error &e) {
                tier_failed("tier " + std::to_string(i + 1), e);
            }
        }
    }

    for (size_t i = 0; i < parts.size(); i++) {
        std::string label = tier_label(i, parts[i]);
        try {
            parts[i] = part_config(std::move(parts[i]), config);
            check_backend(parts[i]);
        } catch (const Error &e) {
            tier_failed(label, e);
        }
    }
    // The same rule TieredBackend applies once the lowest tier is open
    // (it asks the backend), checked here before anything connects for the
    // schemes that never report other clients' writes.
    if (parts.size() > 1 && s.l1_ttl_ms == 0 &&
        (parts.back().scheme == "memcached" || parts.back().scheme == "memory"))
        fail(CACHE_EINVAL, "l1_ttl is required: " + tier_label(parts.size() - 1, parts.back()) +
                               " cannot tell this process when other clients change entries, "
                               "so the copies in the tiers above it need a bounded life (e.g. "
                               "\"l1_ttl\": 30000)");
    if (!fallback_text.empty()) {
        try {
            plan.fallback = Config::parse(fallback_text);
        } catch (const Error &e) {
            tier_failed("fallback", e);
        }
        std::string label = "fallback (" + plan.fallback.display + ")";
        try {
            plan.fallback = part_config(std::move(plan.fallback), config);
            check_backend(plan.fallback);
        } catch (const Error &e) {
            tier_failed(label, e);
        }
        plan.has_fallback = true;
    }
    plan.settings = s;
    return plan;
}

std::unique_ptr<Backend> open_checked(Config &c, const std::string &label)
{
    try {
        return open_backend(c);
    } catch (const Error &e) {
        tier_failed(label, e);
    }
}

} // namespace

void check_tiered(Config &config)
{
    plan_tiered(config);
}

std::unique_ptr<Backend> open_tiered(Config &config)
{
    TieredPlan plan = plan_tiered(config);
    // Phase two: open them, fastest first.
    std::vector<TieredBackend::Tier> tiers;
    std::string display = "tiered(";
    for (size_t i = 0; i < plan.parts.size(); i++) {
        std::string label = tier_label(i, plan.parts[i]);
        plan.parts[i].latency = config.latency;
        plan.parts[i].latency_sample = config.latency_sample;
        std::unique_ptr<Backend> b = open_checked(plan.parts[i], label);
        if (config.latency)
            b = std::make_unique<TimedBackend>(std::move(b), // each tier's own latencies
                                               unsigned(config.latency_sample));
        display += (i ? " > " : "") + plan.parts[i].display;
        tiers.push_back(TieredBackend::Tier{std::move(b), label});
    }
    display += ")";
    std::unique_ptr<Backend> fallback;
    if (plan.has_fallback)
        fallback = open_checked(plan.fallback, "fallback (" + plan.fallback.display + ")");
    config.display = display;
    return std::make_unique<TieredBackend>(std::move(tiers), std::move(fallback), plan.settings,
                                           config.prefix);
}

} // namespace unicache
