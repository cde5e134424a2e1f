// The SCAN MATCH pattern for a GlobPattern.
//
// Redis's matcher (stringmatchlen) agrees with GlobPattern on '*', '?', '\'
// and plain sets, but not on every class: Redis negates only with '^' (so
// "[!a]" means "'!' or 'a'" there), swaps a reversed range ("[z-a]" matches
// like "[a-z]", GlobPattern matches nothing), lets a leading ']' close the
// class, and reads range ends raw (no '\' escape). The translation writes
// '^' for both negations and escapes every special byte inside a class;
// a class it cannot state exactly becomes '?' (one byte: a superset). The
// result therefore matches every key the GlobPattern matches, and callers
// check each key SCAN returns with GlobPattern::match.
#pragma once

#include <string>

#include "core/glob.h"

namespace unicache {

struct RedisMatch {
    std::string pattern; // for SCAN ... MATCH
    bool exact = true;   // Redis matches exactly the same keys
};

RedisMatch redis_match(const GlobPattern &glob);

} // namespace unicache
