// RedisOptions: everything a redis://, redis+unix:// or JSON configuration
// says, validated once when the cache is opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

namespace unicache {

// One server to connect to, when it is not the one the options name (a
// master found through Sentinel, a node of a cluster).
struct RedisEndpoint {
    std::string host;
    int port = 0;
    std::string where; // "redis 127.0.0.1:6380": the start of messages
};

// "host:port" ("[::1]:port" for IPv6), as messages and cluster replies name nodes.
std::string host_port_text(const std::string &host, int port);

struct RedisOptions {
    // Where: a TCP host and port, or a Unix socket path.
    bool unix_socket = false;
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string socket_path;
    int64_t db = 0;

    // Who: AUTH password, or AUTH user password (Redis 6 ACL).
    std::string user;
    std::string password;
    bool auth = false;

    size_t pool_size = 8;
    int64_t connect_timeout_ms = 1000;
    int64_t timeout_ms = 1000;
    int max_retries = 2;
    int64_t retry_delay_ms = 20;
    int64_t health_check_interval_ms = 30000; // 0: never
    // The invalidation connection (redis_tracking.h) sends PING after this
    // long without a word from the server, and gives up on it after as long
    // again without the answer.
    int64_t tracking_heartbeat_ms = 500;
    size_t scan_count = 1000;
    // Longest spin on a reply before sleeping in poll() (redis_connection.h).
    int64_t spin_us = 50;
    bool lazy_connect = false;

    // Set by the sentinel and cluster backends, never from a URI of
    // redis:// itself.
    // Each new connection sends ROLE and refuses a server that is not a
    // master (Sentinel: the address may be out of date).
    bool expect_master = false;
    // Each new connection sends READONLY (cluster: reads from a replica).
    bool readonly = false;
    // Batches send one MGET/MSET/DEL per run of keys in one hash slot, never
    // one command over keys of several slots (cluster: CROSSSLOT).
    bool per_slot_commands = false;

    std::string display; // the URI with the password replaced by ***
    std::string where;   // "redis 127.0.0.1:6379 db 0": the start of messages
    std::string prefix;  // this cache's key prefix
};

// Reads the redis parameters from config (take_*). Throws CACHE_ENOTSUP for
// rediss:// and CACHE_EINVAL for anything malformed.
RedisOptions parse_redis_options(Config &config);
// The parameters every Redis scheme shares: the password (userinfo or
// password=), pool_size, the timeouts and retries, scan_count, spin_us,
// lazy_connect. Throws CACHE_EINVAL.
void parse_redis_connection_options(Config &config, RedisOptions &o);
// "/", "" -> false (no database in the path); "/3" -> true, *db = 3.
// Throws CACHE_EINVAL for anything else, quoting display.
bool redis_db_from_path(const std::string &path, const std::string &display, int64_t *db);

} // namespace unicache
