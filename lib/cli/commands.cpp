// The commands that look at or change entries, and the one-shot management
// commands (stats, info, ping).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli.h"

namespace unicache_cli {

namespace {

struct Closer {
    void operator()(cache_t *c) const { cache_close(c); }
};
using Handle = std::unique_ptr<cache_t, Closer>;

void need(const Args &a, size_t min, size_t max, const char *usage)
{
    if (a.positional.size() < min || a.positional.size() > max)
        throw UsageError{std::string("usage: unicache ") + usage};
}

void write_out(const void *data, size_t n)
{
    if (n && std::fwrite(data, 1, n, stdout) != n)
        failed(CACHE_EIO, "cannot write to standard output");
}

int cmd_get(const Args &a)
{
    need(a, 1, 1, "get KEY");
    Handle c(open_cache(cache_uri(a)));
    const std::string &key = a.positional[0];
    cache_buf v = {nullptr, 0};
    int rc = cache_get(c.get(), key.data(), key.size(), &v);
    if (rc == CACHE_MISS)
        return kExitMiss;
    check(rc, "get");
    write_out(v.data, v.size);
    // A newline for a person reading it; piped output stays byte-exact.
    if (isatty(STDOUT_FILENO))
        std::fputc('\n', stdout);
    cache_buf_free(&v);
    return kExitOk;
}

int cmd_set(const Args &a)
{
    need(a, 1, 2, "set KEY [VALUE] [--ttl T]");
    int64_t ttl =
        a.has("--ttl") ? parse_duration_ms(a.get("--ttl", ""), "--ttl") : CACHE_TTL_DEFAULT;
    std::string value;
    if (a.positional.size() == 2 && a.positional[1] != "-") {
        value = a.positional[1];
    } else {
        std::cin >> std::noskipws;
        value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        if (std::cin.bad())
            failed(CACHE_EIO, "cannot read the value from standard input");
    }
    Handle c(open_cache(cache_uri(a)));
    const std::string &key = a.positional[0];
    check(cache_set(c.get(), key.data(), key.size(), value.data(), value.size(), ttl), "set");
    return kExitOk;
}

int cmd_delete(const Args &a)
{
    need(a, 1, 1, "delete KEY");
    Handle c(open_cache(cache_uri(a)));
    const std::string &key = a.positional[0];
    int rc = cache_delete(c.get(), key.data(), key.size());
    check(rc, "delete");
    return rc == CACHE_MISS ? kExitMiss : kExitOk;
}

int cmd_incr(const Args &a)
{
    need(a, 1, 2, "incr KEY [DELTA]");
    int64_t delta = 1;
    if (a.positional.size() == 2) {
        Args d;
        d.options["DELTA"] = a.positional[1];
        delta = d.get_int("DELTA", 1, INT64_MIN, INT64_MAX);
    }
    Handle c(open_cache(cache_uri(a)));
    const std::string &key = a.positional[0];
    cache_int64 result = 0;
    check(cache_incr(c.get(), key.data(), key.size(), delta, &result), "incr");
    std::printf("%lld\n", (long long)result);
    return kExitOk;
}

int cmd_ttl(const Args &a)
{
    need(a, 1, 1, "ttl KEY");
    Handle c(open_cache(cache_uri(a)));
    const std::string &key = a.positional[0];
    cache_int64 ms = 0;
    int rc = cache_ttl(c.get(), key.data(), key.size(), &ms);
    if (rc == CACHE_MISS)
        return kExitMiss;
    check(rc, "ttl");
    if (ms < 0)
        std::printf("never\n");
    else
        std::printf("%.3f\n", double(ms) / 1000.0);
    return kExitOk;
}

int cmd_keys(const Args &a)
{
    need(a, 1, 1, "keys PATTERN [--limit N]");
    size_t limit = size_t(a.get_int("--limit", 0, 0, INT64_MAX));
    Handle c(open_cache(cache_uri(a)));
    const std::string &p = a.positional[0];
    cache_buf_array keys = {nullptr, 0};
    check(cache_keys(c.get(), p.data(), p.size(), limit, &keys), "keys");
    for (size_t i = 0; i < keys.count; i++) {
        write_out(keys.items[i].data, keys.items[i].size);
        std::fputc('\n', stdout);
    }
    cache_buf_array_free(&keys);
    return kExitOk;
}

int cmd_delete_pattern(const Args &a)
{
    need(a, 1, 1, "delete-pattern PATTERN");
    Handle c(open_cache(cache_uri(a)));
    const std::string &p = a.positional[0];
    size_t n = 0;
    check(cache_delete_pattern(c.get(), p.data(), p.size(), &n), "delete-pattern");
    std::printf("%zu\n", n);
    return kExitOk;
}

// The URI as the library shows it: with the password replaced.
std::string shown_uri(cache_t *c)
{
    for (auto &row : flatten_json(stats_json(c)))
        if (row.first == "uri")
            return row.second;
    return "this cache";
}

int cmd_clear(const Args &a)
{
    need(a, 0, 0, "clear [--yes]");
    std::string uri = cache_uri(a);
    if (!a.has("--yes") && !isatty(STDIN_FILENO))
        throw UsageError{"clear removes every key of the cache: give --yes to do it without a "
                         "terminal to ask on"};
    Handle c(open_cache(uri));
    if (!a.has("--yes")) {
        std::fprintf(stderr, "Remove every key of %s? [y/N] ", shown_uri(c.get()).c_str());
        std::fflush(stderr);
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
            std::fprintf(stderr, "not cleared\n");
            return kExitDeclined;
        }
    }
    check(cache_clear(c.get()), "clear");
    return kExitOk;
}

int cmd_stats(const Args &a)
{
    need(a, 0, 0, "stats [--json]");
    Handle c(open_cache(cache_uri(a)));
    std::string json = stats_json(c.get());
    if (a.has("--json")) {
        std::printf("%s\n", json.c_str());
        return kExitOk;
    }
    auto rows = flatten_json(json);
    size_t width = 0;
    for (auto &r : rows)
        width = std::max(width, r.first.size());
    for (auto &r : rows)
        std::printf("%-*s  %s\n", int(width), r.first.c_str(), r.second.c_str());
    return kExitOk;
}

int cmd_info(const Args &a)
{
    need(a, 0, 0, "info");
    Handle c(open_cache(cache_uri(a)));
    cache_buf text = {nullptr, 0};
    check(cache_backend_info(c.get(), &text), "info");
    write_out(text.data, text.size);
    if (text.size && static_cast<const char *>(text.data)[text.size - 1] != '\n')
        std::fputc('\n', stdout);
    cache_buf_free(&text);
    return kExitOk;
}

int cmd_ping(const Args &a)
{
    need(a, 0, 0, "ping");
    Handle c(open_cache(cache_uri(a)));
    auto t0 = std::chrono::steady_clock::now();
    check(cache_ping(c.get()), "ping");
    double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("ok %s %.0f us\n", cache_backend_name(c.get()), us);
    return kExitOk;
}

} // namespace

int run_command(const std::string &command, int argc, char **argv, int first)
{
    struct Command {
        const char *name;
        int (*run)(const Args &);
        std::set<std::string> valued, flags;
    };
    static const Command commands[] = {
        {"get", cmd_get, {"--url"}, {}},
        {"set", cmd_set, {"--url", "--ttl"}, {}},
        {"delete", cmd_delete, {"--url"}, {}},
        {"incr", cmd_incr, {"--url"}, {}},
        {"ttl", cmd_ttl, {"--url"}, {}},
        {"keys", cmd_keys, {"--url", "--limit"}, {}},
        {"delete-pattern", cmd_delete_pattern, {"--url"}, {}},
        {"clear", cmd_clear, {"--url"}, {"--yes"}},
        {"stats", cmd_stats, {"--url"}, {"--json"}},
        {"info", cmd_info, {"--url"}, {}},
        {"ping", cmd_ping, {"--url"}, {}},
    };
    for (const Command &c : commands)
        if (command == c.name)
            return c.run(parse_args(argc, argv, first, c.valued, c.flags));
    throw UsageError{"unknown command '" + command + "'"};
}

} // namespace unicache_cli
