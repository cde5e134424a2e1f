// How a tag is named below the core. With prefix_mode=raw keys are
// prefix + key, and that concatenation is ambiguous between nested prefixes
// ("app:" + "cache:users" is "app:cache:" + "users"). For raw keys that is
// the documented meaning of a prefix; for tags it would let one prefix
// invalidate another's entries, so a tag's name carries the length of the
// key head (Cache's prefix_, the namespace's "app:|" included):
// "<length>:<head><tag>".
#pragma once

#include <string>

#include "bytes.h"

namespace unicache {

// What goes before every tag of a cache with this prefix.
inline std::string tag_scope(Bytes prefix)
{
    std::string s = std::to_string(prefix.size());
    s += ':';
    s.append(prefix.data(), prefix.size());
    return s;
}

} // namespace unicache
