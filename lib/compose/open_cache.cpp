#include "compose/open_cache.h"

#include <climits>
#include <cstdint>

#include "backends/registry.h"
#include "core/error.h"
#include "core/expiry.h"

namespace unicache {

namespace {

bool is_tiered(const Config &config)
{
    return config.scheme == "tiered" || config.scheme.compare(0, 7, "tiered+") == 0;
}

// What goes before every key. A namespace is its prefix and one separator,
// so that no namespace's keys start with another's head ("a|" is never the
// start of "ab|..." nor of "a:b|..."), and clear, keys and size of one are
// exact on every backend; a raw prefix is prepended as it is.
std::string key_head(const std::string &prefix, bool raw)
{
    if (raw || prefix.empty())
        return prefix;
    if (prefix.find(kNamespaceSeparator) != std::string::npos)
        fail(CACHE_EINVAL, std::string("prefix contains '") + kNamespaceSeparator +
                               "', the separator that ends a namespace (prefix_mode=namespace, "
                               "the default): choose a prefix without it, or open with "
                               "prefix_mode=raw to prepend the prefix as it is");
    return prefix + kNamespaceSeparator;
}

} // namespace

std::unique_ptr<Backend> open_backend(Config &config)
{
    if (is_tiered(config))
        return open_tiered(config);
    BackendFactory factory = find_backend(config.scheme);
    std::unique_ptr<Backend> backend = factory(config);
    // Factories call finish() before they connect; this catches one that
    // forgot, late but still as an argument error.
    config.params.finish(config.scheme);
    return backend;
}

void check_backend(Config config)
{
    if (is_tiered(config)) {
        check_tiered(config);
        return;
    }
    BackendFactory factory = find_backend(config.scheme);
    config.params.stop_at_finish();
    try {
        // A factory that breaks the two-phase rule would connect here; the
        // finish() below still refuses what it left unread.
        factory(config);
        config.params.finish(config.scheme);
    } catch (const ParamsChecked &) {
    }
}

std::unique_ptr<Cache> open_cache(const std::string &text, const cache_options *opts)
{
    Config config = Config::parse(text);
    CacheSettings settings;
    settings.prefix = config.params.take_string("prefix", "");
    bool raw_prefix =
        config.params.take_choice("prefix_mode", "namespace", {"namespace", "raw"}) == "raw";
    settings.default_ttl_ms = config.params.take_int("default_ttl", 0, 0, kMaxTtlMs);
    settings.stampede = StampedeSettings::take(config.params);
    CodecSettings &codec = settings.codec;
    std::string compress = config.params.take_choice("compress", "none", {"none", "zstd", "lz4"});
    codec.codec = compress == "zstd" ? Codec::zstd : compress == "lz4" ? Codec::lz4 : Codec::none;
    codec.threshold =
        config.params.take_int("compress_threshold", kDefaultCompressThreshold, 0, INT64_MAX);
    // Finite: a crafted frame may claim any length, and reading it must not
    // allocate that much. 4 GiB is more than any backend stores as one value.
    codec.max_decompressed =
        config.params.take_int("max_decompressed", kDefaultMaxDecompressed, 1, int64_t(1) << 32);
    settings.slow_ms = config.params.take_int("slow_ms", 0, 0, 86400000);
    settings.latency = config.params.take_bool("latency", true);
    settings.latency_sample = config.params.take_int(
        "latency_sample", LatencyHistograms::kDefaultSamplePeriod, 1, 1 << 20);
    if (opts) {
        if (opts->prefix)
            settings.prefix.assign(opts->prefix, opts->prefix_len);
        if (opts->default_ttl_ms != CACHE_TTL_DEFAULT) {
            // The same range as the URI parameter and a per-call TTL: a
            // default the backends could not add to a clock is refused
            // here, not turned into entries that expire at once.
            if (opts->default_ttl_ms < 0 || opts->default_ttl_ms > kMaxTtlMs)
                fail(CACHE_EINVAL, "options.default_ttl_ms is " +
                                       std::to_string(opts->default_ttl_ms) +
                                       "; it must be CACHE_TTL_DEFAULT or 0 to " +
                                       std::to_string(kMaxTtlMs) + " ms");
            settings.default_ttl_ms = opts->default_ttl_ms;
        }
    }
    if (settings.prefix.size() > CACHE_KEY_MAX)
        fail(CACHE_ETOOBIG, "prefix is longer than " + std::to_string(CACHE_KEY_MAX) + " bytes");
    settings.prefix = key_head(settings.prefix, raw_prefix);
    // Backends see the head too (some count, clear or track per prefix).
    config.prefix = settings.prefix;
    config.raw_prefix = raw_prefix;
    config.latency = settings.latency;
    config.latency_sample = settings.latency_sample;
    // compress=none or not, the core reads what a compressing handle wrote.
    std::unique_ptr<Backend> backend = open_backend(config);
    settings.display_uri = config.display; // a tiered open describes its tiers here
    return std::make_unique<Cache>(std::move(backend), std::move(settings));
}

} // namespace unicache
