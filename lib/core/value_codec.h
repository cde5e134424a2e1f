// ValueCodec: how a value is compressed on its way to any backend, and how
// a stored value is recognised as compressed on its way back. Cache (the
// core, above every backend) applies it on every value path, so every
// handle reads frames, compress=none or not, at the cost of an inline
// 4-byte check on a hit.
//
// The codec travels with the entry, in front of its bytes, so that any
// handle reads what any other wrote, whatever its own compress= says, and
// every backend (Redis and memcached values, SQLite blobs, memory entries)
// carries it the same way. A stored value is a frame when it starts with
// the four bytes F5 'u' 'c' 'z' (0xF5 never starts UTF-8 text):
//
//   offset 0  4 bytes  magic F5 75 63 7A
//          4  1 byte   codec: 0 none, 1 zstd, 2 lz4 (others: a newer unicache)
//          5  8 bytes  the value's length, little-endian
//         13  ...      the payload (the value itself for codec 0)
//
// Anything else is the value as it was given (old entries, counters and
// any decimal integer, which incr must still read; values under
// compress_threshold or that did not shrink). A value that happens to
// start with the magic is stored as a codec-0 frame, so every value written
// through unicache reads back as it was given. Values longer than
// max_decompressed are neither compressed nor framed (nor read): the
// backend's own size limit decides on them first.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "bytes.h"

namespace unicache {

enum class Codec : uint8_t { none = 0, zstd = 1, lz4 = 2 };

constexpr size_t kFrameHeader = 13;
constexpr int64_t kDefaultCompressThreshold = 1024;
constexpr int64_t kDefaultMaxDecompressed = int64_t(64) << 20;

struct CodecSettings {
    Codec codec = Codec::none;
    int64_t threshold = kDefaultCompressThreshold; // compress values at least this long
    int64_t max_decompressed = kDefaultMaxDecompressed;
};

// "none", "zstd", "lz4".
const char *codec_name(Codec codec);

// True when stored must go through decode() (it starts with the magic).
inline bool is_frame(Bytes stored)
{
    return stored.size() >= 4 && (unsigned char)stored[0] == 0xF5 && stored[1] == 'u' &&
           stored[2] == 'c' && stored[3] == 'z';
}

// What to store for value: value itself, or a frame in *scratch (then the
// returned view points into it). Compresses when settings ask for it, the
// value is at least the threshold, and the frame is shorter than the value.
Bytes encode_value_slow(const CodecSettings &settings, Bytes value, std::string *scratch);
inline Bytes encode_value(const CodecSettings &settings, Bytes value, std::string *scratch)
{
    // The length first: a value over max_decompressed is never read here
    // (its length may not be its buffer's; the backend refuses it unread).
    if (settings.codec == Codec::none &&
        (value.size() > uint64_t(settings.max_decompressed) || !is_frame(value)))
        return value; // the common case, inline
    return encode_value_slow(settings, value, scratch);
}

// The value's length a frame claims (is_frame(stored) must hold), after
// checking its header and before anything is allocated for it: throws
// CACHE_ECORRUPT for a truncated header, CACHE_EVERSION for a codec this
// unicache does not know, CACHE_ETOOBIG when it claims more than
// max_decompressed (so a crafted header cannot make us allocate it).
uint64_t frame_value_size(Bytes stored, int64_t max_decompressed);

// The value a checked frame holds (size from frame_value_size), written
// into dst (at least size bytes). Throws CACHE_ECORRUPT when the payload
// does not decompress to exactly size bytes.
void decode_into(Bytes stored, uint64_t size, char *dst);

// Both for a whole buffer: replaces *value's frame by the value (throwing
// as they do). A value that is not a frame is left as it is.
void decode_in_place(OwnedBuffer *value, int64_t max_decompressed);

// What Backend::get_into reports in *size for a frame it kept (copy_stored).
constexpr size_t kFrameHeld = SIZE_MAX;

// The calling thread's frame slot: the stored bytes of the last frame
// copy_stored kept, for Cache::get_into to decode.
std::string &held_frame();
void hold_frame(Bytes stored);

// How Backend::get_into hands a stored value to the caller's buffer: copied
// into dst when it fits, *size its length. A frame is never written there,
// since the value it holds may not fit where its compressed bytes do (and
// cache_get_into promises an untouched buffer on CACHE_ETOOBIG and on every
// error, a damaged frame's included): it goes to this thread's frame slot
// and *size is kFrameHeld, for Cache to decode once it knows the value's
// length from the header.
inline void copy_stored(Bytes stored, void *dst, size_t capacity, size_t *size)
{
    if (is_frame(stored)) {
        hold_frame(stored);
        *size = kFrameHeld;
        return;
    }
    *size = stored.size();
    if (stored.size() <= capacity && !stored.empty())
        std::memcpy(dst, stored.data(), stored.size());
}

} // namespace unicache
