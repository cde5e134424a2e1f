// unicache: look at or change a cache's entries, see its statistics, and
// measure it, from a shell. See usage() or `unicache --help`.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli.h"

namespace unicache_cli {

namespace {

const char kUsage[] =
    "usage: unicache [--url URI] COMMAND [ARGS]\n"
    "\n"
    "The cache is --url URI (any cache_open URI or JSON), else $UNICACHE_URL.\n"
    "bench and watch also take it as their first argument.\n"
    "\n"
    "commands:\n"
    "  get KEY                  print the value (exit 1 when absent)\n"
    "  set KEY [VALUE] [--ttl T] store VALUE, or standard input when VALUE is\n"
    "                           absent or \"-\"; T: 10 (seconds), 500ms, 10s, 5m,\n"
    "                           2h, 1d, or 0 for never (default: the cache's)\n"
    "  delete KEY               remove it (exit 1 when absent)\n"
    "  incr KEY [DELTA]         add DELTA (default 1) to a counter, print it\n"
    "  ttl KEY                  seconds left (\"never\"; exit 1 when absent)\n"
    "  keys PATTERN [--limit N] the keys matching a glob (* ? [abc] \\x)\n"
    "  delete-pattern PATTERN   remove them, print how many\n"
    "  clear [--yes]            remove every key of this cache; asks first on a\n"
    "                           terminal, and refuses without one unless --yes\n"
    "  stats [--json]           statistics, as a table or as JSON\n"
    "  info                     the backend's own description\n"
    "  ping                     check that the backend answers\n"
    "  bench [URI] [--threads N] [--ops N] [--value-size B] [--keys K]\n"
    "        [--zipf S] [--read-ratio R] [--time SECONDS] [--ttl T]\n"
    "                           load it and print ops/s, p50/p99/p99.9 per\n"
    "                           operation and the hit ratio (a progress bar on\n"
    "                           a terminal); writes keys unicache-bench:N\n"
    "  watch [URI] [--count N] [--interval MS]\n"
    "                           statistics refreshed each second (N times)\n"
    "\n"
    "exit status:\n"
    "  0 done, 1 no such key, 2 usage error, 3 clear declined,\n"
    "  10 invalid argument (URI, parameter, key), 11 unavailable or timed out,\n"
    "  12 authentication refused, 13 not supported by this backend,\n"
    "  14 value (not a number, overflow, too big), 15 storage (I/O, corrupt,\n"
    "  newer format), 16 internal (out of memory, a bug)\n";

} // namespace

int exit_for_status(int status)
{
    switch (status) {
    case CACHE_OK:
        return kExitOk;
    case CACHE_MISS:
        return kExitMiss;
    case CACHE_EINVAL:
        return kExitInvalid;
    case CACHE_EUNAVAILABLE:
    case CACHE_ETIMEOUT:
        return kExitUnavailable;
    case CACHE_EAUTH:
        return kExitAuth;
    case CACHE_ENOTSUP:
        return kExitNotSupported;
    case CACHE_ENAN:
    case CACHE_ERANGE:
    case CACHE_ETOOBIG:
        return kExitValue;
    case CACHE_EIO:
    case CACHE_ECORRUPT:
    case CACHE_EVERSION:
        return kExitStorage;
    default:
        return kExitInternal;
    }
}

[[noreturn]] void failed(int status, const std::string &what)
{
    throw CacheFailure{status, what, cache_last_error()};
}

int main_of(int argc, char **argv)
{
    // Global options come before the command.
    int i = 1;
    std::string url;
    for (; i < argc && argv[i][0] == '-'; i++) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (a == "--version") {
            std::printf("unicache %s\n", cache_version());
            return kExitOk;
        }
        if (a == "-u" || a == "--url") {
            if (i + 1 >= argc)
                throw UsageError{a + " needs a URI"};
            url = argv[++i];
        } else if (a.compare(0, 6, "--url=") == 0) {
            url = a.substr(6);
        } else {
            throw UsageError{"unknown option " + a};
        }
    }
    if (i >= argc)
        throw UsageError{"no command given"};
    global_url() = url;
    std::string command = argv[i];
    if (command == "help") {
        std::fputs(kUsage, stdout);
        return kExitOk;
    }
    if (command == "bench")
        return run_bench(argc, argv, i + 1);
    if (command == "watch")
        return run_watch(argc, argv, i + 1);
    return run_command(command, argc, argv, i + 1);
}

} // namespace unicache_cli

int main(int argc, char **argv)
{
    using namespace unicache_cli;
    try {
        return main_of(argc, argv);
    } catch (const UsageError &e) {
        std::fprintf(stderr, "unicache: %s\nTry 'unicache --help'.\n", e.message.c_str());
        return kExitUsage;
    } catch (const CacheFailure &e) {
        // cache_last_error() never holds a password (the library redacts),
        // and it starts with the status's name when the library set it.
        std::string name = cache_strerror(e.status);
        std::string detail = e.detail.empty() ? name : e.detail;
        if (detail.compare(0, name.size(), name) != 0)
            detail = name + ": " + detail;
        std::fprintf(stderr, "unicache: %s: %s\n", e.what.c_str(), detail.c_str());
        return exit_for_status(e.status);
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "unicache: out of memory\n");
        return kExitInternal;
    }
}
