#include "item_keys.h"

#include <cstring>

#include "core/hash.h"
#include "sha256.h"

namespace unicache {
namespace item_keys {

namespace {

const char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 32 digest bytes become 43 base64url characters (no padding).
void append_digest(Bytes data, std::string *out)
{
    Sha256Digest d = sha256(data.data(), data.size());
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char byte : d.bytes) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out->push_back(kBase64Url[(acc >> bits) & 63]);
        }
    }
    if (bits)
        out->push_back(kBase64Url[(acc << (6 - bits)) & 63]);
}

// Appends <sep><text> when text is safe and the name stays within the
// limit, else '#' and its digest.
void append_named(Bytes text, char sep, std::string *out, size_t head)
{
    if (head + 1 + text.size() <= kMaxKey && is_safe(text)) {
        out->push_back(sep);
        out->append(text.data(), text.size());
    } else {
        out->push_back('#');
        append_digest(text, out);
    }
}

uint32_t hash32(const char *p, size_t n)
{
    return uint32_t(hash_bytes(p, n) >> 32);
}

} // namespace

bool is_safe(Bytes text)
{
    // Eight bytes at a time: a byte is unsafe if it is below 0x21 or above
    // 0x7e, i.e. if b - 0x21 borrows or b + 1 reaches 0x80 (classic
    // "has a byte less than / more than n" tests on a 64-bit word).
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const char *p = text.data();
    size_t n = text.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        if (((w - ones * 0x21) & ~w & highs) | (((w + ones) | w) & highs))
            return false;
    }
    for (; n; p++, n--) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

void append_digest_name(Bytes full_key, std::string *out)
{
    out->push_back('!');
    append_digest(full_key, out);
}

std::string generation_key(unsigned anchor, Bytes prefix)
{
    std::string out = "~g" + std::to_string(anchor);
    append_named(prefix, '|', &out, out.size());
    return out;
}

std::string namespace_generation_key(unsigned anchor, uint64_t root, Bytes space)
{
    std::string out = "~n" + std::to_string(anchor);
    std::string named = std::to_string(root);
    named.push_back('|');
    named.append(space.data(), space.size());
    append_named(named, '|', &out, out.size());
    return out;
}

std::string tag_key(Bytes full_tag)
{
    std::string out = "~t";
    append_named(full_tag, ':', &out, out.size());
    return out;
}

uint32_t server_hash(const char *key, size_t len, void *)
{
    if (len >= 2 && key[0] == '~' && (key[1] == 'g' || key[1] == 'n')) {
        size_t end = 2;
        while (end < len && key[end] != '|' && key[end] != '#')
            end++;
        return hash32(key + 2, end - 2);
    }
    return hash32(key, len);
}

} // namespace item_keys
} // namespace unicache
