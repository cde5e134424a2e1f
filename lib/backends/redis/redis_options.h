// RedisOptions: everything a redis://, redis+unix:// or JSON configuration
// says, validated once when the cache is opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

namespace unicache {

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

    std::string display; // the URI with the password replaced by ***
    std::string where;   // "redis 127.0.0.1:6379 db 0": the start of messages
    std::string prefix;  // this cache's key prefix
};

// Reads the redis parameters from config (take_*). Throws CACHE_ENOTSUP for
// rediss:// and CACHE_EINVAL for anything malformed.
RedisOptions parse_redis_options(Config &config);

} // namespace unicache
