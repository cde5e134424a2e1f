// libFuzzer target for GlobPattern: arbitrary patterns either parse or throw
// CACHE_EINVAL; matching terminates; an escaped literal matches itself only.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/glob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string in(reinterpret_cast<const char *>(data), size);
    size_t cut = in.find('\x01');
    std::string pattern = in.substr(0, cut);
    std::string text = cut == std::string::npos ? pattern : in.substr(cut + 1);
    try {
        unicache::GlobPattern p(pattern);
        p.match(text);
        // Every match starts with the literal prefix.
        if (p.match(text) && text.compare(0, p.literal_prefix().size(), p.literal_prefix()) != 0)
            __builtin_trap();
    } catch (const unicache::Error &e) {
        if (e.status() != CACHE_EINVAL)
            __builtin_trap();
    }
    unicache::GlobPattern lit(unicache::GlobPattern::escape(text));
    if (!lit.match(text))
        __builtin_trap();
    if (lit.match(text + "x"))
        __builtin_trap();
    return 0;
}
