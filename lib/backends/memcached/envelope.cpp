#include "envelope.h"

#include <cstring>
#include <type_traits>

#include "core/error.h"

namespace unicache {

namespace {

// Written on every set: one append, not a push_back (and its capacity
// check) per byte.
void put_le(uint64_t v, int bytes, std::string *out)
{
    char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = char((v >> (8 * i)) & 0xff);
    out->append(b, size_t(bytes));
}

// Read on every hit: one load where the byte order allows (the loop costs
// ~50 instructions for 8 bytes, which GCC does not merge).
template <int N> uint64_t get_le(const char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    typename std::conditional<N == 8, uint64_t, uint32_t>::type v;
    static_assert(sizeof v == N, "8 or 4 bytes");
    std::memcpy(&v, p, N);
    return v;
#else
    uint64_t v = 0;
    for (int i = 0; i < N; i++)
        v |= uint64_t((unsigned char)p[i]) << (8 * i);
    return v;
#endif
}

[[noreturn]] void truncated()
{
    fail(CACHE_ECORRUPT, "a memcached item under a unicache key is truncated or was "
                         "written by another program");
}

// Takes a uint32-length-prefixed section off the front of *rest.
Bytes take_section(Bytes *rest)
{
    if (rest->size() < 4)
        truncated();
    uint64_t n = get_le<4>(rest->data());
    if (rest->size() - 4 < n)
        truncated();
    Bytes section = rest->substr(4, n);
    rest->remove_prefix(4 + n);
    return section;
}

} // namespace

Envelope Envelope::decode(uint32_t flags, Bytes item)
{
    // An empty item without flags is a lease stub that memcached created on
    // a miss (mg ... N, memcached_leases.cpp): absent to every reader (its
    // generation 0 is never a prefix's).
    if (flags == 0 && item.empty())
        return Envelope();
    if (flags & ~(kExpiry | kKey | kTags))
        fail(CACHE_ECORRUPT, "a memcached item under a unicache key has flags " +
                                 std::to_string(flags) +
                                 ", so it was not written by unicache (or by a newer one)");
    if (item.size() < kFixed || item[0] != kMark)
        fail(CACHE_ECORRUPT, "a memcached item under a unicache key lacks unicache's header, "
                             "so it was not written by unicache (or was truncated)");
    Envelope e;
    e.generation = get_le<8>(item.data() + 1);
    Bytes rest = item.substr(kFixed);
    if (flags & kExpiry) {
        if (rest.size() < 8)
            truncated();
        e.expiry_ms = int64_t(get_le<8>(rest.data()));
        rest.remove_prefix(8);
    }
    if (flags & kKey)
        e.key = take_section(&rest);
    if (flags & kTags)
        e.tags = take_section(&rest);
    e.header = item.substr(0, item.size() - rest.size());
    e.value = rest;
    return e;
}

uint32_t Envelope::encode(uint64_t generation, int64_t expiry_ms, Bytes key, Bytes tags,
                          std::string *out)
{
    out->assign(1, kMark);
    put_le(generation, 8, out);
    uint32_t flags = 0;
    if (expiry_ms) {
        flags |= kExpiry;
        put_le(uint64_t(expiry_ms), 8, out);
    }
    if (!key.empty()) {
        flags |= kKey;
        put_le(key.size(), 4, out);
        out->append(key.data(), key.size());
    }
    if (!tags.empty()) {
        flags |= kTags;
        put_le(tags.size(), 4, out);
        out->append(tags.data(), tags.size());
    }
    return flags;
}

void append_tag(Bytes tag_key, uint64_t version, std::string *tags)
{
    tags->push_back(char(tag_key.size())); // tag counter names are <= 250 bytes
    tags->append(tag_key.data(), tag_key.size());
    put_le(version, 8, tags);
}

bool TagCursor::next(Bytes *tag_key, uint64_t *version)
{
    if (rest_.empty())
        return false;
    size_t n = (unsigned char)rest_[0];
    if (rest_.size() < 1 + n + 8)
        truncated();
    *tag_key = rest_.substr(1, n);
    *version = get_le<8>(rest_.data() + 1 + n);
    rest_.remove_prefix(1 + n + 8);
    return true;
}

} // namespace unicache
