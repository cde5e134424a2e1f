// GlobPattern: the one pattern syntax every backend honours (see unicache.h).
// Backends without a native matcher call match(); those with one translate.
#pragma once

#include <string>

#include "bytes.h"

namespace unicache {

class GlobPattern {
public:
    // Throws Error(CACHE_EINVAL) on a trailing '\' or an unclosed '['.
    explicit GlobPattern(std::string pattern);

    const std::string &source() const { return source_; }
    bool match(Bytes text) const;

    // The bytes every match must start with (the pattern up to its first
    // wildcard, unescaped); lets ordered stores scan a range.
    const std::string &literal_prefix() const { return literal_prefix_; }
    // True when the pattern is literal_prefix() followed by a lone '*'.
    bool is_prefix_only() const { return prefix_only_; }

    // Escape every special byte so the result matches only `literal`.
    static std::string escape(Bytes literal);

private:
    std::string source_;
    std::string literal_prefix_;
    bool prefix_only_ = false;
};

} // namespace unicache
