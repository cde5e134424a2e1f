#include "item_keys.h"

#include "core/hash.h"
#include "sha256.h"

namespace unicache {
namespace item_keys {

namespace {

// base64url without padding: 32 digest bytes become 43 safe characters.
void append_digest(Bytes data, std::string *out)
{
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    Sha256Digest d = sha256(data.data(), data.size());
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char byte : d.bytes) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out->push_back(kAlphabet[(acc >> bits) & 63]);
        }
    }
    if (bits)
        out->push_back(kAlphabet[(acc << (6 - bits)) & 63]);
}

// A name of the form <head><sep><text>, where text goes verbatim when it is
// safe and fits, else as its digest with '#' as the separator.
void append_named(Bytes text, char sep, std::string *out)
{
    if (out->size() + 1 + text.size() <= kMaxKey && is_safe(text)) {
        out->push_back(sep);
        out->append(text.data(), text.size());
    } else {
        out->push_back('#');
        append_digest(text, out);
    }
}

uint32_t hash32(const char *p, size_t n) { return uint32_t(hash_bytes(p, n) >> 32); }

} // namespace

bool is_safe(Bytes text)
{
    for (unsigned char c : text)
        if (c <= 0x20 || c >= 0x7f)
            return false;
    return true;
}

bool entry_key(Bytes full_key, std::string *out)
{
    out->assign(1, 'u');
    out->append(kGenerationHex, '0');
    append_named(full_key, ':', out);
    return (*out)[kEntryHead - 1] == '#';
}

void set_generation(std::string *key, uint64_t generation)
{
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < kGenerationHex; i++)
        (*key)[kGenerationHex - i] = kHex[(generation >> (4 * i)) & 15];
}

std::string generation_key(unsigned anchor, Bytes prefix)
{
    std::string out = "g" + std::to_string(anchor);
    append_named(prefix, '|', &out);
    return out;
}

std::string tag_key(Bytes full_tag)
{
    std::string out = "t";
    append_named(full_tag, ':', &out);
    return out;
}

uint32_t server_hash(const char *key, size_t len, void *)
{
    if (len >= kEntryHead && key[0] == 'u' &&
        (key[kEntryHead - 1] == ':' || key[kEntryHead - 1] == '#'))
        return hash32(key + kEntryHead, len - kEntryHead);
    if (len >= 2 && key[0] == 'g') {
        size_t end = 1;
        while (end < len && key[end] != '|' && key[end] != '#')
            end++;
        return hash32(key + 1, end - 1);
    }
    return hash32(key, len);
}

} // namespace item_keys
} // namespace unicache
