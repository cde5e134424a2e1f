#include "redis_glob.h"

#include <utility>
#include <vector>

namespace unicache {

namespace {

bool special_in_class(unsigned char c)
{
    return c == ']' || c == '[' || c == '\\' || c == '-' || c == '^';
}

// Parses the class whose '[' is at src[open] (GlobPattern has validated it)
// and appends its Redis form to out. Returns the index after the ']' and
// clears *exact when the class became '?'.
size_t translate_class(const std::string &src, size_t open, std::string *out, bool *exact)
{
    size_t p = open + 1;
    bool negate = false;
    if (p < src.size() && (src[p] == '!' || src[p] == '^')) {
        negate = true;
        p++;
    }
    std::vector<std::pair<unsigned char, unsigned char>> items;
    bool first = true;
    while (p < src.size() && (src[p] != ']' || first)) {
        first = false;
        unsigned char lo = (unsigned char)src[p];
        if (lo == '\\')
            lo = (unsigned char)src[++p];
        p++;
        unsigned char hi = lo;
        if (p + 1 < src.size() && src[p] == '-' && src[p + 1] != ']') {
            hi = (unsigned char)src[++p];
            if (hi == '\\')
                hi = (unsigned char)src[++p];
            p++;
        }
        items.emplace_back(lo, hi);
    }
    std::string cls = negate ? "[^" : "[";
    for (const auto &it : items) {
        if (it.first == it.second) {
            if (special_in_class(it.first))
                cls.push_back('\\');
            cls.push_back(char(it.first));
        } else if (it.first < it.second && !special_in_class(it.first) &&
                   !special_in_class(it.second)) {
            cls.push_back(char(it.first));
            cls.push_back('-');
            cls.push_back(char(it.second));
        } else {
            *exact = false;
            out->push_back('?');
            return p + 1;
        }
    }
    cls.push_back(']');
    out->append(cls);
    return p + 1;
}

} // namespace

RedisMatch redis_match(const GlobPattern &glob)
{
    RedisMatch m;
    const std::string &src = glob.source();
    m.pattern.reserve(src.size() + 4);
    size_t i = 0;
    while (i < src.size()) {
        char ch = src[i];
        if (ch == '\\') {
            m.pattern.push_back('\\');
            m.pattern.push_back(src[i + 1]);
            i += 2;
        } else if (ch == '[') {
            i = translate_class(src, i, &m.pattern, &m.exact);
        } else {
            m.pattern.push_back(ch);
            i++;
        }
    }
    return m;
}

} // namespace unicache
