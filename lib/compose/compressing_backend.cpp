#include "compose/compressing_backend.h"

#include <cstring>
#include <vector>

#include "core/error.h"

namespace unicache {

namespace {

// The frame being written, per thread (no allocation per write once warm).
std::string &scratch()
{
    thread_local std::string s;
    return s;
}

} // namespace

CompressingBackend::CompressingBackend(std::unique_ptr<Backend> inner, CodecSettings settings)
    : inner_(std::move(inner)), settings_(settings)
{
}

Bytes CompressingBackend::encode(Bytes value)
{
    return encode_value(settings_, value, &scratch());
}

void CompressingBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    inner_->set(key, encode(value), ttl_ms);
}

bool CompressingBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    return inner_->add(key, encode(value), ttl_ms);
}

// The hot paths below are a call and a 4-byte check: everything a frame
// needs is out of line, so a memory:// hit pays no more than that.
bool CompressingBackend::get(Bytes key, OwnedBuffer *out)
{
    if (!inner_->get(key, out))
        return false;
    if (is_frame(out->view()))
        decode_in_place(out, settings_.max_decompressed);
    return true;
}

bool CompressingBackend::get_into(Bytes key, void *dst, size_t capacity, size_t *size)
{
    size_t stored = 0;
    if (!inner_->get_into(key, dst, capacity, &stored))
        return false;
    if (stored > capacity || is_frame(Bytes(static_cast<const char *>(dst), stored)))
        return get_into_slow(key, dst, capacity, stored, size);
    *size = stored;
    return true;
}

bool CompressingBackend::get_into_slow(Bytes key, void *dst, size_t capacity, size_t stored,
                                       size_t *size)
{
    if (stored <= capacity) {
        // A frame in dst: decode from a copy, into dst when the value fits.
        std::string &frame = scratch();
        frame.assign(static_cast<const char *>(dst), stored);
        uint64_t n = frame_value_size(frame, settings_.max_decompressed);
        if (n <= capacity)
            decode_into(frame, n, static_cast<char *>(dst));
        *size = size_t(n);
        return true;
    }
    // Too long for dst as stored: whether it is a frame (and how long its
    // value is) takes the whole of it.
    OwnedBuffer v;
    if (!inner_->get(key, &v))
        return false;
    decode_in_place(&v, settings_.max_decompressed);
    *size = v.size();
    if (v.size() <= capacity && v.size() != 0)
        std::memcpy(dst, v.data(), v.size());
    return true;
}

bool CompressingBackend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    if (!inner_->get_entry(key, out, meta))
        return false;
    if (is_frame(out->view()))
        decode_in_place(out, settings_.max_decompressed);
    return true;
}

void CompressingBackend::decode_all(OwnedBuffer *values, const int *statuses, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (statuses[i] == CACHE_OK)
            decode_in_place(&values[i], settings_.max_decompressed);
}

void CompressingBackend::get_entries(const Bytes *keys, size_t n, OwnedBuffer *values,
                                     EntryMeta *metas, int *statuses)
{
    inner_->get_entries(keys, n, values, metas, statuses);
    decode_all(values, statuses, n);
}

void CompressingBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    inner_->get_many(keys, n, values, statuses);
    decode_all(values, statuses, n);
}

void CompressingBackend::set_entry(Bytes key, Bytes value, const EntryMeta &meta)
{
    inner_->set_entry(key, encode(value), meta);
}

void CompressingBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    // Values pass through as they are unless one needs a frame; only then
    // is there a copy per framed value.
    std::vector<std::string> frames;
    std::vector<Bytes> views;
    for (size_t i = 0; i < n; i++) {
        Bytes e = encode(values[i]);
        if (e.data() == values[i].data())
            continue;
        if (views.empty()) {
            frames.resize(n);
            views.assign(values, values + n);
        }
        frames[i].assign(e.data(), e.size());
        views[i] = frames[i];
    }
    inner_->set_many(keys, views.empty() ? values : views.data(), n, ttl_ms);
}

void CompressingBackend::lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply)
{
    inner_->lease_get(key, request, reply);
    if ((reply->state == LeaseState::hit || reply->state == LeaseState::stale) &&
        is_frame(reply->value.view()))
        decode_in_place(&reply->value, settings_.max_decompressed);
}

void CompressingBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                                    size_t ntags)
{
    inner_->set_tagged(key, encode(value), ttl_ms, tags, ntags);
}

std::string CompressingBackend::info()
{
    std::string s = inner_->info();
    if (settings_.codec != Codec::none)
        s += std::string(" compress=") + codec_name(settings_.codec);
    return s;
}

void CompressingBackend::add_stats(Bytes prefix, StatsPart &part)
{
    inner_->add_stats(prefix, part);
    if (settings_.codec != Codec::none) {
        part.text("compress", codec_name(settings_.codec));
        part.count("compress_threshold", settings_.threshold);
    }
}

} // namespace unicache
