// Envelope: what unicache stores in a memcached item besides the value.
//
// memcached keeps 32 flag bits with every item. A bare value has flags 0;
// otherwise a format mark sits in bits 8-15 and the low bits say which of
// these precede the value:
//
//   expiry     int64 LE, the absolute wall-clock deadline in ms (memcached
//              cannot report a remaining TTL, and rounds it to seconds)
//   key        uint32 LE length + the full key, for digest-named entries
//   tags       uint32 LE length + (uint8 length, tag counter name,
//              uint64 LE version)*, for entries written with tags
//
// A plain entry therefore costs nothing extra: stored as the bare value with
// flags 0 (short to parse in every reply), so a counter reads "-2" in any
// memcached client.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"

namespace unicache {

struct Envelope {
    static constexpr uint32_t kMark = 0x7500; // 'u'
    static constexpr uint32_t kMarkMask = 0xffffff00;
    static constexpr uint32_t kExpiry = 1, kKey = 2, kTags = 4;

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
    static uint32_t encode(int64_t expiry_ms, Bytes key, Bytes tags, std::string *out);
};

// Appends one (tag counter name, version) pair to a raw tag section.
void append_tag(Bytes tag_key, uint64_t version, std::string *tags);

// Walks a raw tag section. Throws CACHE_ECORRUPT on a malformed one.
class TagCursor
{
  public:
    explicit TagCursor(Bytes tags) : rest_(tags) {}
    bool next(Bytes *tag_key, uint64_t *version);

  private:
    Bytes rest_;
};

} // namespace unicache
