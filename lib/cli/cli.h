// The `unicache` command: what its parts share. It uses the public C API
// only (include/unicache.h), like any program linked with the library.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "unicache.h"

namespace unicache_cli {

// Exit statuses (documented in `unicache --help` and the README). Each
// error family of the library has its own.
enum Exit {
    kExitOk = 0,
    kExitMiss = 1,          // get/delete/ttl/incr --existing: no such key
    kExitUsage = 2,         // bad command line; clear without --yes and no terminal
    kExitDeclined = 3,      // clear: the answer at the prompt was not "y"
    kExitInvalid = 10,      // CACHE_EINVAL: bad URI, parameter, key or pattern
    kExitUnavailable = 11,  // CACHE_EUNAVAILABLE, CACHE_ETIMEOUT
    kExitAuth = 12,         // CACHE_EAUTH
    kExitNotSupported = 13, // CACHE_ENOTSUP
    kExitValue = 14,        // CACHE_ENAN, CACHE_ERANGE, CACHE_ETOOBIG
    kExitStorage = 15,      // CACHE_EIO, CACHE_ECORRUPT, CACHE_EVERSION
    kExitInternal = 16,     // CACHE_ENOMEM, CACHE_EINTERNAL, anything else
};

int exit_for_status(int status);

// Thrown for a bad command line: main prints it with the usage hint and
// exits kExitUsage.
struct UsageError {
    std::string message;
};

// The library said no: main prints what, the status's name and
// cache_last_error(), and exits with exit_for_status(status).
struct CacheFailure {
    int status;
    std::string what;
    std::string detail; // cache_last_error() at the time
};

[[noreturn]] void failed(int status, const std::string &what);
inline void check(int status, const std::string &what)
{
    if (status < 0)
        failed(status, what);
}

// One command's arguments after the command name: positionals and options
// ("--name value", "--name=value", flags without a value); "--" ends the
// options.
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;

    bool has(const std::string &name) const { return options.count(name) != 0; }
    std::string get(const std::string &name, const std::string &def) const;
    int64_t get_int(const std::string &name, int64_t def, int64_t min, int64_t max) const;
    double get_double(const std::string &name, double def, double min, double max) const;
};

// valued: options that take a value; flags: options that do not. Anything
// else starting with "-" is a UsageError.
Args parse_args(int argc, char **argv, int first, const std::set<std::string> &valued,
                const std::set<std::string> &flags);

// The --url given before the command ("" when none).
std::string &global_url();

// The URI: --url, else $UNICACHE_URL; a UsageError when neither is given.
std::string cache_uri(const Args &args);

// Opens uri (CacheFailure on failure). The caller closes it.
cache_t *open_cache(const std::string &uri);

// "10" (seconds), "500ms", "10s", "5m", "2h", "1d" as milliseconds; "0" or
// "never": no expiry.
int64_t parse_duration_ms(const std::string &text, const char *what);

// A number as the tables show it: an integer without decimals, else 4
// significant digits.
std::string number_text(double v);

// The text a cache_buf-returning call gave (CacheFailure, naming what, when
// status is an error); frees *buf.
std::string buf_text(int status, cache_buf *buf, const std::string &what);

// Statistics JSON flattened into (dotted name, value text) rows.
std::vector<std::pair<std::string, std::string>> flatten_json(const std::string &json);

// A cache's statistics JSON (CacheFailure on failure).
std::string stats_json(cache_t *cache);

// What `unicache watch` can observe of everyone's traffic (server_view.cpp).
struct ServerValue {
    std::string name;
    double value;
    bool counter; // grows: watch shows its rate per second too
};
struct ServerView {
    std::string backend;
    std::string source; // "server", "file", or "this-handle" (nothing server-side)
    std::string note;   // what the numbers are, and what cannot be seen
    std::vector<ServerValue> values;
    std::string hits, misses; // the counters the hit ratio comes from ("" for none)
};
ServerView server_view(cache_t *cache);

int run_bench(int argc, char **argv, int first);
int run_watch(int argc, char **argv, int first);
int run_command(const std::string &command, int argc, char **argv, int first);

} // namespace unicache_cli
