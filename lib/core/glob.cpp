#include "glob.h"

#include "error.h"

namespace unicache {

namespace {

// Parses the class starting after '[' at p; returns the index after ']' or
// npos when unclosed. Sets *hit when c belongs to the class.
size_t match_class(const std::string &pat, size_t p, unsigned char c, bool *hit)
{
    bool negate = false;
    if (p < pat.size() && (pat[p] == '!' || pat[p] == '^')) {
        negate = true;
        p++;
    }
    bool found = false;
    bool first = true;
    while (p < pat.size() && (pat[p] != ']' || first)) {
        first = false;
        unsigned char lo = (unsigned char)pat[p];
        if (lo == '\\') {
            if (++p >= pat.size())
                return std::string::npos;
            lo = (unsigned char)pat[p];
        }
        p++;
        unsigned char hi = lo;
        if (p + 1 < pat.size() && pat[p] == '-' && pat[p + 1] != ']') {
            p++;
            hi = (unsigned char)pat[p];
            if (hi == '\\') {
                if (++p >= pat.size())
                    return std::string::npos;
                hi = (unsigned char)pat[p];
            }
            p++;
        }
        if (lo <= c && c <= hi)
            found = true;
    }
    if (p >= pat.size())
        return std::string::npos;
    *hit = found != negate;
    return p + 1;
}

} // namespace

GlobPattern::GlobPattern(std::string pattern) : source_(std::move(pattern))
{
    // Validate and extract the literal prefix in one pass.
    bool in_prefix = true;
    size_t i = 0;
    while (i < source_.size()) {
        char ch = source_[i];
        if (ch == '\\') {
            if (i + 1 >= source_.size())
                fail(CACHE_EINVAL, "pattern ends with an unescaped '\\'");
            if (in_prefix)
                literal_prefix_.push_back(source_[i + 1]);
            i += 2;
        } else if (ch == '[') {
            bool hit;
            size_t end = match_class(source_, i + 1, 0, &hit);
            if (end == std::string::npos)
                fail(CACHE_EINVAL, "pattern has an unclosed '[' at byte " + std::to_string(i));
            in_prefix = false;
            i = end;
        } else if (ch == '*' || ch == '?') {
            if (in_prefix && ch == '*' && i + 1 == source_.size())
                prefix_only_ = true;
            in_prefix = false;
            i++;
        } else {
            if (in_prefix)
                literal_prefix_.push_back(ch);
            i++;
        }
    }
}

bool GlobPattern::match(Bytes text) const
{
    // Iterative matcher with single-star backtracking: linear in practice,
    // never exponential.
    const std::string &pat = source_;
    size_t p = 0, t = 0;
    size_t star_p = std::string::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pat.size()) {
            char ch = pat[p];
            if (ch == '*') {
                star_p = ++p;
                star_t = t;
                continue;
            }
            if (ch == '?') {
                p++;
                t++;
                continue;
            }
            if (ch == '[') {
                bool hit = false;
                size_t end = match_class(pat, p + 1, (unsigned char)text[t], &hit);
                if (hit) {
                    p = end;
                    t++;
                    continue;
                }
            } else {
                if (ch == '\\')
                    ch = pat[p + 1];
                if (ch == text[t]) {
                    p += pat[p] == '\\' ? 2 : 1;
                    t++;
                    continue;
                }
            }
        }
        if (star_p == std::string::npos)
            return false;
        p = star_p;
        t = ++star_t;
    }
    while (p < pat.size() && pat[p] == '*')
        p++;
    return p == pat.size();
}

std::string GlobPattern::escape(Bytes literal)
{
    std::string out;
    out.reserve(literal.size() + 8);
    for (char c : literal) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
            out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

} // namespace unicache
