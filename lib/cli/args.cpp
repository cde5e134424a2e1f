#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cli.h"

namespace unicache_cli {

std::string &global_url()
{
    static std::string url;
    return url;
}

std::string Args::get(const std::string &name, const std::string &def) const
{
    auto it = options.find(name);
    return it == options.end() ? def : it->second;
}

int64_t Args::get_int(const std::string &name, int64_t def, int64_t min, int64_t max) const
{
    auto it = options.find(name);
    if (it == options.end())
        return def;
    const std::string &t = it->second;
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || *end || errno || v < min || v > max)
        throw UsageError{name + " takes a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not '" + t + "'"};
    return v;
}

double Args::get_double(const std::string &name, double def, double min, double max) const
{
    auto it = options.find(name);
    if (it == options.end())
        return def;
    const std::string &t = it->second;
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end || errno || !std::isfinite(v) || v < min || v > max)
        throw UsageError{name + " takes a number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not '" + t + "'"};
    return v;
}

Args parse_args(int argc, char **argv, int first, const std::set<std::string> &valued,
                const std::set<std::string> &flags)
{
    Args a;
    bool options_done = false;
    for (int i = first; i < argc; i++) {
        std::string s = argv[i];
        // "-5" is a value (incr KEY -5), not an option.
        if (options_done || s.size() < 2 || s[0] != '-' || (s[1] >= '0' && s[1] <= '9')) {
            a.positional.push_back(s);
            continue;
        }
        if (s == "--") {
            options_done = true;
            continue;
        }
        std::string name = s, value;
        bool inline_value = false;
        size_t eq = s.find('=');
        if (s.compare(0, 2, "--") == 0 && eq != std::string::npos) {
            name = s.substr(0, eq);
            value = s.substr(eq + 1);
            inline_value = true;
        }
        if (valued.count(name)) {
            if (!inline_value) {
                if (i + 1 >= argc)
                    throw UsageError{name + " needs a value"};
                value = argv[++i];
            }
        } else if (flags.count(name)) {
            if (inline_value)
                throw UsageError{name + " takes no value"};
        } else {
            throw UsageError{"unknown option " + name};
        }
        if (a.options.count(name))
            throw UsageError{name + " given twice"};
        a.options[name] = value;
    }
    return a;
}

std::string cache_uri(const Args &args)
{
    if (args.has("--url"))
        return args.get("--url", "");
    if (!global_url().empty())
        return global_url();
    const char *env = std::getenv("UNICACHE_URL");
    if (env && *env)
        return env;
    throw UsageError{"no cache given: pass --url URI or set UNICACHE_URL"};
}

cache_t *open_cache(const std::string &uri)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri.c_str(), &c);
    if (rc != CACHE_OK)
        failed(rc, "cannot open the cache");
    return c;
}

int64_t parse_duration_ms(const std::string &text, const char *what)
{
    if (text == "never")
        return 0;
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    std::string unit = end ? end : "";
    double scale = unit.empty() || unit == "s" ? 1000
                   : unit == "ms"              ? 1
                   : unit == "m"               ? 60000
                   : unit == "h"               ? 3600000
                   : unit == "d"               ? 86400000
                                               : -1;
    // INT64_MAX / 4 ms is the library's longest TTL; it says so itself.
    if (text.empty() || end == text.c_str() || errno || scale < 0 || !std::isfinite(v) || v < 0 ||
        v * scale > 9.2e18)
        throw UsageError{std::string(what) +
                         " takes a duration such as 10 (seconds), 500ms, 10s, " +
                         "5m, 2h, 1d, or 0 for never, not '" + text + "'"};
    int64_t ms = int64_t(std::llround(v * scale));
    if (ms == 0 && v > 0)
        ms = 1;
    return ms;
}

} // namespace unicache_cli
