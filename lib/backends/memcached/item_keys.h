// ItemKeys: how unicache names things in memcached, and which server each
// name lives on.
//
// memcached keys are at most 250 bytes of printable ASCII without spaces.
// Names are kept short: libmemcached reads every byte of every name in a
// reply one character at a time, so each byte costs on every read.
//
//   <full key>                  an entry whose full key (prefix + key) is
//                               safe, 1 to 250 bytes, and does not start
//                               with '!' or '~': the name is the key itself
//   !<sha256>                   any other entry (43 base64url characters of
//                               digest); the full key is then stored beside
//                               the value and compared on every read
//   ~g<anchor>|<prefix>         the generation counter of one prefix on one
//   ~g<anchor>#<sha256>         server (digest form for long/unsafe prefixes):
//                               prefix_mode=raw, and the root ("") in both
//   ~n<anchor>|<root>|<space>   the generation counter of one namespace
//   ~n<anchor>#<sha256>         (prefix_mode=namespace) under the root's
//                               generation <root>: a root clear moves that
//                               on, so every namespace gets a fresh counter
//   ~t:<full tag> / ~t#<sha256> the version counter of one tag
//
// The first byte tells them apart. The prefix generation is not part of an
// entry's name but of its envelope (envelope.h), so clear() moves the
// counter on and every entry written before reads as absent; it costs no
// bytes in the names memcached sends back. server_hash() places an entry by
// its whole name and a generation counter by its anchor: a short number
// chosen so that the counter lands on the server it describes.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"

namespace unicache {
namespace item_keys {

constexpr size_t kMaxKey = 250;    // memcached's limit
constexpr size_t kDigestName = 44; // '!' + 43 base64url characters

// Printable ASCII except space: what the text protocol accepts in a key.
bool is_safe(Bytes text);

// Whether full_key is its own entry name; if not, the entry is named by
// append_digest_name() and the full key must be stored with the value.
inline bool is_verbatim(Bytes full_key)
{
    return !full_key.empty() && full_key.size() <= kMaxKey && full_key[0] != '!' &&
           full_key[0] != '~' && is_safe(full_key);
}

// Appends the kDigestName-byte entry name of a key that is not verbatim.
void append_digest_name(Bytes full_key, std::string *out);

std::string generation_key(unsigned anchor, Bytes prefix);
std::string namespace_generation_key(unsigned anchor, uint64_t root, Bytes space);
std::string tag_key(Bytes full_tag);

// The libhashkit hash function installed on every connection (see above).
uint32_t server_hash(const char *key, size_t len, void *context);

} // namespace item_keys
} // namespace unicache
