// ItemKeys: how unicache names things in memcached, and which server each
// name lives on.
//
// memcached keys are at most 250 bytes of printable ASCII without spaces.
// Every name unicache sends starts with one letter that says what it is:
//
//   u<16 hex generation>:<full key>     an entry whose full key (prefix + key)
//                                        is safe and short enough
//   u<16 hex generation>#<sha256>        any other entry; the full key is then
//                                        stored beside the value and compared
//                                        on every read
//   g<anchor>|<prefix> / g<anchor>#<sha256>
//                                        the generation counter of one prefix
//                                        on one server
//   t:<full tag> / t#<sha256>            the version counter of one tag
//
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

constexpr size_t kMaxKey = 250;      // memcached's limit
constexpr size_t kGenerationHex = 16; // digits of the generation in an entry name
constexpr size_t kEntryHead = 1 + kGenerationHex + 1;

// Printable ASCII except space: what the text protocol accepts in a key.
bool is_safe(Bytes text);

// Writes the entry name for full_key into *out with a zero generation (set
// it with set_generation()). Returns true when the name is a digest, so the
// full key must be stored with the value.
bool entry_key(Bytes full_key, std::string *out);
void set_generation(std::string *entry_key, uint64_t generation);

std::string generation_key(unsigned anchor, Bytes prefix);
std::string tag_key(Bytes full_tag);

// The libhashkit hash function installed on every connection (see above).
uint32_t server_hash(const char *key, size_t len, void *context);

} // namespace item_keys
} // namespace unicache
