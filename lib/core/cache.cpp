#include "core/cache.h"

#include <cjson/cJSON.h>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/clock.h"
#include "core/error.h"
#include "core/expiry.h"
#include "core/log.h"
#include "core/prometheus.h"
#include "core/tag_name.h"

namespace unicache {

namespace {

struct JsonDeleter {
    void operator()(cJSON *j) const { cJSON_Delete(j); }
};

} // namespace

void reject_key(Bytes key, const char *what)
{
    if (key.empty())
        fail(CACHE_EINVAL,
             std::string("empty ") + what + ": a " + what + " must be 1 to 65536 bytes long");
    fail(CACHE_ETOOBIG, std::string(what) + " is " + std::to_string(key.size()) +
                            " bytes; the limit is " + std::to_string(CACHE_KEY_MAX));
}

Cache::Cache(std::unique_ptr<Backend> backend, CacheSettings settings)
    : backend_(std::move(backend)), prefix_(std::move(settings.prefix)),
      default_ttl_ms_(settings.default_ttl_ms), display_uri_(std::move(settings.display_uri)),
      stampede_(settings.stampede), codec_(settings.codec), slow_ns_(settings.slow_ms * 1000000),
      latency_(settings.latency
                   ? std::make_unique<LatencyHistograms>(unsigned(settings.latency_sample))
                   : nullptr)
{
    tag_scope_ = tag_scope(prefix_);
}

void Cache::finished(Op op, int64_t ns) const noexcept
{
    if (ns < slow_ns_)
        return;
    try {
        log_line_slow(op, ns);
    } catch (...) {
        // Runs in a destructor: out of memory loses the line, nothing else.
    }
}

void Cache::log_line_slow(Op op, int64_t ns) const
{
    log_event(CACHE_LOG_WARN, [&] {
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.1f", double(ns) / 1e6);
        return std::string("slow ") + op_name(op) + ": " + ms +
               " ms (slow_ms=" + std::to_string(slow_ns_ / 1000000) + ") on " + display_uri_;
    });
}

int64_t Cache::resolve_ttl(int64_t ttl_ms) const
{
    if (ttl_ms == CACHE_TTL_DEFAULT)
        return default_ttl_ms_;
    if (ttl_ms < 0)
        fail(CACHE_EINVAL, "TTL " + std::to_string(ttl_ms) +
                               " ms is negative; use CACHE_TTL_DEFAULT (-1) or "
                               "CACHE_TTL_NONE (0)");
    if (ttl_ms > kMaxTtlMs)
        fail(CACHE_EINVAL, "TTL " + std::to_string(ttl_ms) + " ms is too large; the limit is " +
                               std::to_string(kMaxTtlMs) + " ms");
    return ttl_ms;
}

Bytes Cache::prefixed(Bytes key) const
{
    thread_local std::string scratch;
    scratch.assign(prefix_);
    scratch.append(key.data(), key.size());
    return scratch;
}

void Cache::full_keys(const Bytes *keys, size_t n, KeyBatch *out) const
{
    prefixed(prefix_, keys, n, out, "key");
}

void Cache::full_tags(const Bytes *tags, size_t n, KeyBatch *out) const
{
    prefixed(tag_scope_, tags, n, out, "tag");
}

void Cache::prefixed(const std::string &head, const Bytes *keys, size_t n, KeyBatch *out,
                     const char *what) const
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        check_key(keys[i], what);
        total += head.size() + keys[i].size();
    }
    if (head.empty()) {
        out->keys_ = keys; // no copy: a 100-key copy would be a 1.6 KB allocation
        return;
    }
    // One allocation each, sized up front: the views can point into the
    // buffer as it is filled, since it never moves.
    out->buffer_.resize(total);
    out->views_.resize(n);
    char *at = &out->buffer_[0];
    for (size_t i = 0; i < n; i++) {
        std::memcpy(at, head.data(), head.size());
        if (!keys[i].empty())
            std::memcpy(at + head.size(), keys[i].data(), keys[i].size());
        size_t len = head.size() + keys[i].size();
        out->views_[i] = Bytes(at, len);
        at += len;
    }
}

GlobPattern Cache::full_pattern(Bytes pattern) const
{
    // Parse the caller's pattern alone first, so that an error's byte offset
    // counts in their pattern, not in the escaped prefix we put before it.
    GlobPattern{std::string(pattern)};
    return GlobPattern(GlobPattern::escape(prefix_) + std::string(pattern));
}

void Cache::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    OpTimer timer(*this, Op::set);
    int64_t ttl = resolve_ttl(ttl_ms);
    if (stampede_.keep_meta())
        set_with_meta(full_key(key), stored_form(value), ttl); // cache_lease.cpp
    else
        backend_->set(full_key(key), stored_form(value), ttl);
    counters_.add(timer.slot(), Counter::sets);
}

bool Cache::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    OpTimer timer(*this, Op::add);
    int64_t ttl = resolve_ttl(ttl_ms);
    bool stored = backend_->add(full_key(key), stored_form(value), ttl);
    if (stored)
        counters_.add(timer.slot(), Counter::sets);
    return stored;
}

bool Cache::get(Bytes key, OwnedBuffer *out)
{
    OpTimer timer(*this, Op::get);
    bool hit = backend_->get(full_key(key), out);
    if (hit)
        unframe(out);
    counters_.add(timer.slot(), hit ? Counter::hits : Counter::misses);
    return hit;
}

bool Cache::get_uncounted_miss(Bytes key, OwnedBuffer *out)
{
    OpTimer timer(*this, Op::get);
    bool hit = backend_->get(full_key(key), out);
    if (hit) {
        unframe(out);
        counters_.add(Counter::hits);
    }
    return hit;
}

Bytes Cache::stored_form(Bytes value) const
{
    thread_local std::string scratch;
    return encode_value(codec_, value, &scratch);
}

void Cache::get_into_frame(void *dst, size_t capacity, size_t *size) const
{
    // One large value does not stay in a thread's buffers for good.
    constexpr size_t kKeep = size_t(1) << 20;
    struct Trim {
        std::string &s;
        ~Trim()
        {
            if (s.capacity() > kKeep)
                std::string().swap(s);
        }
    };
    std::string &frame = held_frame();
    Trim keep_frame{frame};
    // The value's length comes from the header, before dst is written; a
    // damaged payload is decoded into a buffer of ours, never half into dst.
    uint64_t n = frame_value_size(frame, codec_.max_decompressed);
    if (n <= capacity) {
        thread_local std::string value;
        Trim keep_value{value};
        value.resize(size_t(n));
        decode_into(frame, n, &value[0]);
        if (n)
            std::memcpy(dst, value.data(), size_t(n));
    }
    *size = size_t(n);
}

bool Cache::get_into(Bytes key, void *dst, size_t capacity, size_t *size)
{
    OpTimer timer(*this, Op::get);
    Bytes full = full_key(key);
    bool hit = backend_->get_into(full, dst, capacity, size);
    if (hit && *size == kFrameHeld)
        get_into_frame(dst, capacity, size);
    if (!hit)
        counters_.add(timer.slot(), Counter::misses);
    else if (*size <= capacity)
        counters_.add(timer.slot(), Counter::hits);
    return hit;
}

bool Cache::del(Bytes key)
{
    OpTimer timer(*this, Op::del);
    bool removed = backend_->del(full_key(key));
    if (removed)
        counters_.add(timer.slot(), Counter::deletes);
    return removed;
}

bool Cache::exists(Bytes key)
{
    OpTimer timer(*this, Op::exists);
    return backend_->exists(full_key(key));
}

int64_t Cache::incr(Bytes key, int64_t delta)
{
    OpTimer timer(*this, Op::incr);
    int64_t v = backend_->incr(full_key(key), delta, default_ttl_ms_);
    counters_.add(timer.slot(), Counter::sets);
    return v;
}

bool Cache::incr_ext(Bytes key, int64_t delta, int64_t ttl_ms_if_new, bool must_exist,
                     int64_t *result)
{
    OpTimer timer(*this, Op::incr);
    int64_t ttl = resolve_ttl(ttl_ms_if_new);
    Bytes k = full_key(key);
    if (must_exist) {
        if (!backend_->incr_existing(k, delta, result))
            return false;
    } else {
        *result = backend_->incr(k, delta, ttl);
    }
    counters_.add(timer.slot(), Counter::sets);
    return true;
}

bool Cache::touch(Bytes key, int64_t ttl_ms)
{
    OpTimer timer(*this, Op::touch);
    int64_t ttl = resolve_ttl(ttl_ms);
    return backend_->touch(full_key(key), ttl);
}

bool Cache::expire_at(Bytes key, int64_t unix_ms)
{
    OpTimer timer(*this, Op::touch);
    // Saturating: INT64_MIN is long past (the key goes), INT64_MAX is as
    // far ahead as a TTL may reach (the key stays, with the longest TTL).
    int64_t remaining = ms_until(unix_ms, wall_ms());
    if (remaining > kMaxTtlMs)
        remaining = kMaxTtlMs;
    if (remaining <= 0) {
        bool removed = backend_->del(full_key(key));
        if (removed)
            counters_.add(timer.slot(), Counter::deletes);
        return removed;
    }
    return backend_->touch(full_key(key), remaining);
}

bool Cache::ttl(Bytes key, int64_t *remaining_ms)
{
    OpTimer timer(*this, Op::ttl);
    return backend_->ttl(full_key(key), remaining_ms);
}

void Cache::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    OpTimer timer(*this, Op::get_many);
    KeyBatch full;
    full_keys(keys, n, &full);
    backend_->get_many(full.data(), n, values, statuses);
    int64_t hits = 0;
    for (size_t i = 0; i < n; i++)
        if (statuses[i] == CACHE_OK) {
            unframe(&values[i]);
            hits++;
        }
    counters_.add(timer.slot(), Counter::hits, hits);
    counters_.add(timer.slot(), Counter::misses, int64_t(n) - hits);
}

void Cache::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    OpTimer timer(*this, Op::set_many);
    int64_t ttl = resolve_ttl(ttl_ms);
    KeyBatch full;
    full_keys(keys, n, &full);
    // Values pass through as they are unless one needs a frame; only then
    // is there a copy per framed value.
    std::vector<std::string> frames;
    std::vector<Bytes> views;
    for (size_t i = 0; i < n; i++) {
        Bytes e = stored_form(values[i]);
        if (e.data() == values[i].data())
            continue;
        if (views.empty()) {
            frames.resize(n);
            views.assign(values, values + n);
        }
        frames[i].assign(e.data(), e.size());
        views[i] = frames[i];
    }
    backend_->set_many(full.data(), views.empty() ? values : views.data(), n, ttl);
    counters_.add(timer.slot(), Counter::sets, int64_t(n));
}

size_t Cache::del_many(const Bytes *keys, size_t n)
{
    OpTimer timer(*this, Op::del_many);
    KeyBatch full;
    full_keys(keys, n, &full);
    size_t removed = backend_->del_many(full.data(), n);
    counters_.add(timer.slot(), Counter::deletes, int64_t(removed));
    return removed;
}

void Cache::keys(Bytes pattern, size_t limit, std::vector<std::string> *out)
{
    OpTimer timer(*this, Op::keys);
    GlobPattern full = full_pattern(pattern);
    backend_->keys(full, limit, out);
    if (!prefix_.empty())
        for (auto &k : *out)
            k.erase(0, prefix_.size());
}

size_t Cache::delete_pattern(Bytes pattern)
{
    OpTimer timer(*this, Op::delete_pattern);
    size_t removed = backend_->delete_pattern(full_pattern(pattern));
    counters_.add(timer.slot(), Counter::deletes, int64_t(removed));
    return removed;
}

void Cache::clear()
{
    OpTimer timer(*this, Op::clear);
    backend_->clear(prefix_);
}

void Cache::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags, size_t ntags)
{
    OpTimer timer(*this, Op::set_tagged);
    int64_t ttl = resolve_ttl(ttl_ms);
    std::string k(full_key(key));
    KeyBatch named;
    full_tags(tags, ntags, &named);
    backend_->set_tagged(k, stored_form(value), ttl, named.data(), ntags);
    counters_.add(timer.slot(), Counter::sets);
}

size_t Cache::invalidate_tags(const Bytes *tags, size_t n)
{
    OpTimer timer(*this, Op::invalidate_tags);
    KeyBatch full;
    full_tags(tags, n, &full);
    size_t removed = backend_->invalidate_tags(full.data(), n);
    counters_.add(timer.slot(), Counter::deletes, int64_t(removed));
    return removed;
}

void Cache::ping()
{
    OpTimer timer(*this, Op::ping);
    backend_->ping();
}

std::string Cache::info()
{
    return backend_->info();
}

std::unique_ptr<cJSON, void (*)(cJSON *)> Cache::stats_document(bool detail)
{
    int64_t hits = counters_.sum(Counter::hits);
    int64_t misses = counters_.sum(Counter::misses);
    std::unique_ptr<cJSON, void (*)(cJSON *)> root(cJSON_CreateObject(), cJSON_Delete);
    if (!root)
        throw std::bad_alloc();
    StatsPart part(root.get(), detail);
    part.text("uri", display_uri_);
    part.count("hits", hits);
    part.count("misses", misses);
    part.number("hit_ratio", hits + misses ? double(hits) / double(hits + misses) : 0.0);
    part.count("sets", counters_.sum(Counter::sets));
    part.count("deletes", counters_.sum(Counter::deletes));
    part.count("errors", counters_.sum(Counter::errors));
    part.count("default_ttl_ms", default_ttl_ms_);
    if (codec_.codec != Codec::none) {
        part.text("compress", codec_name(codec_.codec));
        part.count("compress_threshold", codec_.threshold);
    }
    write_backend_part(*backend_, prefix_, part);
    if (latency_)
        latency_->add_stats(part);
    return root;
}

std::string Cache::stats_json()
{
    auto root = stats_document(false);
    char *text = cJSON_PrintUnformatted(root.get());
    if (!text)
        throw std::bad_alloc();
    std::string out(text);
    cJSON_free(text);
    return out;
}

std::string Cache::stats_prometheus()
{
    return prometheus_text(stats_document(true).get());
}

} // namespace unicache
