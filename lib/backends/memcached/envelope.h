// Envelope: what unicache stores in a memcached item besides the value.
//
// Every item starts with a 9-byte header:
//
//   'u'        format mark: an item under one of our names that lacks it
//              was written by another program and is reported, not returned
//   generation uint64 LE, the prefix generation of the entry's server when
//              it was written (item_keys.h); once clear() has moved the
//              generation on, the entry reads as absent
//
// then the sections the item flags name, in this order:
//
//   expiry     int64 LE, the absolute wall-clock deadline in ms (memcached
//              cannot report a remaining TTL, and rounds it to seconds)
//   key        uint32 LE length + the full key, for digest-named entries
//   tags       uint32 LE length + (uint8 length, tag counter name,
//              uint64 LE version)*, for entries written with tags
//
// The flags are those three bits and nothing else, so they are one decimal
// digit in every reply, which libmemcached parses character by character.
// Other flags mean another program (or a newer unicache) wrote the item.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"

namespace unicache {

struct Envelope {
    static constexpr char kMark = 'u';
    static constexpr size_t kFixed = 9; // mark + generation
    static constexpr uint32_t kExpiry = 1, kKey = 2, kTags = 4;

    uint64_t generation = 0;
    int64_t expiry_ms = 0; // 0: never
    Bytes key;             // empty unless kKey
    Bytes tags;            // the raw tag section, empty unless kTags
    Bytes header;          // every byte before the value
    Bytes value;

    // Parses an item. Throws CACHE_ECORRUPT if it was not written by
    // unicache (flags it does not know) or is truncated.
    static Envelope decode(uint32_t flags, Bytes item);

    // Writes the header for the given metadata into *out (replacing it) and
    // returns the item flags.
    static uint32_t encode(uint64_t generation, int64_t expiry_ms, Bytes key, Bytes tags,
                           std::string *out);
};

// Appends one (tag counter name, version) pair to a raw tag section.
void append_tag(Bytes tag_key, uint64_t version, std::string *tags);

// Walks a raw tag section. Throws CACHE_ECORRUPT on a malformed one.
class TagCursor {
public:
    explicit TagCursor(Bytes tags) : rest_(tags) {}
    bool next(Bytes *tag_key, uint64_t *version);

private:
    Bytes rest_;
};

} // namespace unicache
