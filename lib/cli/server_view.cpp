// What `unicache watch` shows: the numbers the backend's server keeps for
// every client (Redis INFO, memcached stats, the SQLite file), read from
// cache_backend_info, since the watching process's own handle sees none of
// another process's traffic. Backends with no server (memory://, a tiered
// cache as a whole) say so, and show this handle's counters.
#include <sys/stat.h>

#include <cstdlib>
#include <sstream>

#include "cli.h"

namespace unicache_cli {

namespace {

bool to_number(const std::string &text, double *out)
{
    if (text.empty())
        return false;
    char *end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size())
        return false;
    *out = v;
    return true;
}

std::string info_text(cache_t *cache)
{
    cache_buf buf = {nullptr, 0};
    return buf_text(cache_backend_info(cache, &buf), &buf, "info");
}

// Redis INFO: "name:value" lines in "# Section"s. The "# Unicache" section
// is this handle's, not the server's; "db0:keys=5,expires=1,..." lines add
// up to the server's keys.
std::map<std::string, double> redis_fields(const std::string &info)
{
    std::map<std::string, double> f;
    std::istringstream in(info);
    std::string line;
    bool ours = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            continue;
        if (line[0] == '#') {
            ours = line.find("Unicache") != std::string::npos;
            continue;
        }
        size_t colon = line.find(':');
        if (ours || colon == std::string::npos)
            continue;
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        if (name.compare(0, 2, "db") == 0 && value.compare(0, 5, "keys=") == 0) {
            double keys = 0;
            if (to_number(value.substr(5, value.find(',') - 5), &keys))
                f["keys"] += keys;
            continue;
        }
        double v = 0;
        if (to_number(value, &v))
            f[name] = v;
    }
    return f;
}

// memcached stats: "[host:port]" then "name value" lines per server; the
// servers' numbers are added up.
std::map<std::string, double> memcached_fields(const std::string &info)
{
    std::map<std::string, double> f;
    std::istringstream in(info);
    std::string line;
    bool stats = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '[') {
            stats = true;
            f["servers"] += 1;
            continue;
        }
        size_t space = line.find(' ');
        double v = 0;
        if (stats && space != std::string::npos && to_number(line.substr(space + 1), &v))
            f[line.substr(0, space)] += v;
    }
    return f;
}

// SQLite's info: "name=value" words.
std::map<std::string, std::string> sqlite_words(const std::string &info)
{
    std::map<std::string, std::string> w;
    std::istringstream in(info);
    std::string word;
    while (in >> word) {
        size_t eq = word.find('=');
        if (eq != std::string::npos)
            w[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return w;
}

double file_bytes(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? double(st.st_size) : 0;
}

} // namespace

ServerView server_view(cache_t *cache)
{
    ServerView v;
    v.backend = cache_backend_name(cache);
    auto gauge = [&](const std::string &name, double value) {
        v.values.push_back({name, value, false});
    };
    // What a server reports, as (its name, the name shown, whether it grows).
    struct Field {
        const char *from, *as;
        bool counter;
    };
    auto take = [&](std::map<std::string, double> f, std::initializer_list<Field> fields) {
        for (const Field &x : fields)
            v.values.push_back({x.as, f[x.from], x.counter});
    };
    if (v.backend == "redis") {
        v.source = "server";
        take(redis_fields(info_text(cache)), {{"keyspace_hits", "keyspace_hits", true},
                                              {"keyspace_misses", "keyspace_misses", true},
                                              {"total_commands_processed", "commands", true},
                                              {"keys", "keys", false},
                                              {"used_memory", "used_memory", false},
                                              {"connected_clients", "connected_clients", false},
                                              {"expired_keys", "expired_keys", true},
                                              {"evicted_keys", "evicted_keys", true}});
        v.hits = "keyspace_hits";
        v.misses = "keyspace_misses";
        v.note = "the Redis server's counters, for every client of this server (all databases)";
    } else if (v.backend == "memcached") {
        v.source = "server";
        take(memcached_fields(info_text(cache)), {{"get_hits", "get_hits", true},
                                                  {"get_misses", "get_misses", true},
                                                  {"cmd_get", "cmd_get", true},
                                                  {"cmd_set", "cmd_set", true},
                                                  {"curr_items", "curr_items", false},
                                                  {"bytes", "bytes", false},
                                                  {"curr_connections", "curr_connections", false},
                                                  {"evictions", "evictions", true},
                                                  {"servers", "servers", false}});
        v.hits = "get_hits";
        v.misses = "get_misses";
        v.note = "the memcached servers' counters, added up, for every client of these servers";
    } else if (v.backend == "sqlite") {
        std::map<std::string, std::string> w = sqlite_words(info_text(cache));
        double pages = 0, page_size = 0, free_pages = 0;
        to_number(w["page_count"], &pages);
        to_number(w["page_size"], &page_size);
        to_number(w["freelist_count"], &free_pages);
        v.source = "file";
        gauge("page_count", pages);
        gauge("page_size", page_size);
        gauge("freelist_count", free_pages);
        gauge("file_bytes", file_bytes(w["path"]));
        gauge("wal_bytes", file_bytes(w["path"] + "-wal"));
        v.note = "the SQLite file as every process sees it; SQLite keeps no hit or miss "
                 "counters, so other processes' hits cannot be observed (the handle's rows "
                 "are this process's only)";
    } else {
        v.source = "this-handle";
        v.note = v.backend == "memory"
                     ? "memory:// lives inside one process: this is a new, empty cache of the "
                       "watching process, and no other process's memory:// cache can be "
                       "observed from here"
                     : "the " + v.backend +
                           " backend offers no server-side counters: these are this handle's "
                           "own, which count none of another process's traffic";
    }
    return v;
}

} // namespace unicache_cli
