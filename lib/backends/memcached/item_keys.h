// ItemKeys: how unicache names things in memcached, and which server each
// name lives on.
//
// memcached keys are at most 250 bytes of printable ASCII without spaces.
// Names are kept short: libmemcached reads every byte of every name in a
// reply one character at a time, so each byte costs on every read.
//
//   <generation><full key>     an entry whose full key (prefix + key) is safe
//                              and short enough; the generation is 5
//                              base64url characters (its low 30 bits)
//   !<generation><sha256>      any other entry (43 base64url characters of
//                              digest); the full key is then stored beside the
//                              value and compared on every read
//   ~g<anchor>|<prefix>        the generation counter of one prefix on one
//   ~g<anchor>#<sha256>        server (digest form for long/unsafe prefixes)
//   ~t:<full tag> / ~t#<sha256> the version counter of one tag
//
// The first byte tells them apart: '!' and '~' are not base64url characters.
// The generation is part of an entry's name, so clear() only has to move it
// on. It must not decide the server, or every clear would reshuffle the
// entries between servers; server_hash() therefore hashes an entry by what
// follows its generation, and a generation counter by its anchor: a short
// number chosen so that the counter lands on the server it describes.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"

namespace unicache {
namespace item_keys {

constexpr size_t kMaxKey = 250;        // memcached's limit
constexpr size_t kGenerationChars = 5; // base64url digits of a generation
constexpr uint64_t kGenerationMask = (uint64_t(1) << (6 * kGenerationChars)) - 1;

// Printable ASCII except space: what the text protocol accepts in a key.
bool is_safe(Bytes text);

// Appends the entry name for full_key to *out with a placeholder generation
// at out->size() + generation_offset(hashed) (fill it with
// generation_text()). Returns true when the name is a digest, so the full
// key must be stored with the value.
bool append_entry_key(Bytes full_key, std::string *out);
inline size_t generation_offset(bool hashed) { return hashed ? 1 : 0; }
// The generation as it appears in an entry name: kGenerationChars chars.
void generation_text(uint64_t generation, char *out);

std::string generation_key(unsigned anchor, Bytes prefix);
std::string tag_key(Bytes full_tag);

// The libhashkit hash function installed on every connection (see above).
uint32_t server_hash(const char *key, size_t len, void *context);

} // namespace item_keys
} // namespace unicache
