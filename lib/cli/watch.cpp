// unicache watch: what the backend's server sees, refreshed every
// --interval ms (1 s): Redis INFO and memcached stats count every client's
// traffic, the SQLite file is what every process shares (server_view.cpp);
// counters also as a rate over the last interval, and the hit ratio over
// it. The watching handle's own counters would be 0 for another process's
// traffic, so they are shown only where nothing server-side exists
// (memory://, a tiered cache), and the output says so. On a terminal the
// table is redrawn in place; otherwise each refresh is one line of
// name=value pairs, so that it can be logged or parsed, and what the
// numbers are goes to standard error once.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli.h"

namespace unicache_cli {

namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

double find(const ServerView &v, const std::string &name)
{
    for (const ServerValue &s : v.values)
        if (s.name == name)
            return s.value;
    return 0;
}

// One refresh's rows; prev (nullptr on the first) gives the rates.
Rows rows_of(const ServerView &now, const ServerView *prev, double seconds, cache_t *cache)
{
    Rows rows = {{"backend", now.backend}, {"source", now.source}};
    for (const ServerValue &s : now.values) {
        rows.emplace_back(s.name, number_text(s.value));
        if (s.counter)
            rows.emplace_back(
                s.name + "_per_s",
                prev && seconds > 0 ? number_text((s.value - find(*prev, s.name)) / seconds) : "-");
    }
    if (!now.hits.empty()) {
        double hits = find(now, now.hits), misses = find(now, now.misses);
        rows.emplace_back("hit_ratio",
                          hits + misses > 0 ? number_text(hits / (hits + misses)) : "-");
        std::string interval = "-";
        if (prev) {
            double dh = hits - find(*prev, now.hits), dm = misses - find(*prev, now.misses);
            if (dh + dm > 0)
                interval = number_text(dh / (dh + dm));
        }
        rows.emplace_back("interval_hit_ratio", interval);
    }
    Rows handle = flatten_json(stats_json(cache));
    for (auto &r : handle) {
        if (r.first == "uri" || r.first == "backend")
            continue;
        // Where the server counts, only what the backend reports for the
        // whole store: this handle's hits and misses would read 0.
        if (now.source == "server" && r.first != "size" && r.first != "memory_bytes")
            continue;
        if (now.source == "file" && r.first.compare(0, 8, "latency.") == 0)
            continue;
        rows.emplace_back(now.source == "this-handle" || r.first == "size" ||
                                  r.first == "memory_bytes"
                              ? r.first
                              : "handle." + r.first,
                          r.second);
    }
    return rows;
}

} // namespace

int run_watch(int argc, char **argv, int first)
{
    Args a = parse_args(argc, argv, first, {"--url", "--count", "--interval"}, {});
    if (a.positional.size() > 1)
        throw UsageError{"usage: unicache watch [URI] [--count N] [--interval MS]"};
    std::string uri = a.positional.empty() ? cache_uri(a) : a.positional[0];
    int64_t count = a.get_int("--count", 0, 0, INT64_MAX); // 0: until interrupted
    int64_t interval = a.get_int("--interval", 1000, 10, 3600000);
    std::unique_ptr<cache_t, void (*)(cache_t *)> c(open_cache(uri), cache_close);
    bool tty = isatty(STDOUT_FILENO);
    auto next = std::chrono::steady_clock::now();
    std::unique_ptr<ServerView> prev;
    auto prev_at = std::chrono::steady_clock::now();
    for (int64_t n = 0; count == 0 || n < count; n++) {
        if (n)
            std::this_thread::sleep_until(next);
        next += std::chrono::milliseconds(interval);
        ServerView view = server_view(c.get());
        auto at = std::chrono::steady_clock::now();
        double seconds = std::chrono::duration<double>(at - prev_at).count();
        Rows rows = rows_of(view, prev.get(), seconds, c.get());
        if (n == 0 && !tty)
            std::fprintf(stderr, "unicache watch: %s: %s\n", view.backend.c_str(),
                         view.note.c_str());
        if (tty) {
            std::printf("\033[H\033[2J%s: %s\n\n", view.backend.c_str(), view.note.c_str());
            size_t width = 0;
            for (auto &r : rows)
                width = std::max(width, r.first.size());
            for (auto &r : rows)
                std::printf("%-*s  %s\n", int(width), r.first.c_str(), r.second.c_str());
            std::printf("\nrefresh %lld, every %lld ms (Ctrl-C stops)\n", (long long)n + 1,
                        (long long)interval);
        } else {
            std::time_t now = std::time(nullptr);
            char stamp[32];
            std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
            std::printf("%s", stamp);
            for (auto &r : rows)
                std::printf(" %s=%s", r.first.c_str(), r.second.c_str());
            std::printf("\n");
        }
        std::fflush(stdout);
        prev.reset(new ServerView(std::move(view)));
        prev_at = at;
    }
    return kExitOk;
}

} // namespace unicache_cli
