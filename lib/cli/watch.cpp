// unicache watch: the statistics, refreshed every --interval ms (1 s). On a
// terminal the table is redrawn in place; otherwise each refresh is one
// line of name=value pairs, so that it can be logged or parsed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli.h"

namespace unicache_cli {

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
    for (int64_t n = 0; count == 0 || n < count; n++) {
        if (n)
            std::this_thread::sleep_until(next);
        next += std::chrono::milliseconds(interval);
        auto rows = flatten_json(stats_json(c.get()));
        if (tty) {
            std::printf("\033[H\033[2J");
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
                if (r.first != "uri")
                    std::printf(" %s=%s", r.first.c_str(), r.second.c_str());
            std::printf("\n");
        }
        std::fflush(stdout);
    }
    return kExitOk;
}

} // namespace unicache_cli
