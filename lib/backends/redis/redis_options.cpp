#include "redis_options.h"

#include <climits>

#include "core/error.h"

namespace unicache {

// "/", "" -> no database in the path; "/3" -> 3.
bool redis_db_from_path(const std::string &path, const std::string &display, int64_t *db)
{
    if (path.empty() || path == "/")
        return false;
    std::string digits = path.substr(1);
    bool ok = !digits.empty() && digits.size() <= 9;
    for (char ch : digits)
        ok = ok && ch >= '0' && ch <= '9';
    if (!ok)
        fail(CACHE_EINVAL, "bad database '" + path + "' in '" + display +
                               "': expected /N with N a database number, as in "
                               "redis://host:6379/0");
    *db = std::stoll(digits);
    return true;
}

std::string host_port_text(const std::string &host, int port)
{
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

void parse_redis_connection_options(Config &config, RedisOptions &o)
{
    std::string query_password = config.params.take_string("password", "");
    bool has_query_password = config.params.has("password");
    if (has_query_password && config.has_password)
        fail(CACHE_EINVAL, "'" + config.display + "' gives the password twice");
    o.user = config.user;
    o.password = has_query_password ? query_password : config.password;
    bool has_password = config.has_password || has_query_password;
    if (!o.user.empty() && !has_password)
        // The "user" is not quoted: a lone userinfo is as likely a password
        // written without its ':'.
        fail(CACHE_EINVAL, "'" + config.display +
                               "' names a user without a password: write "
                               "redis://user:password@host (or redis://:password@host)");
    // An empty password is what requirepass "" means: no AUTH at all.
    o.auth = !o.user.empty() || !o.password.empty();

    o.pool_size = size_t(config.params.take_int("pool_size", int64_t(o.pool_size), 1, 1024));
    o.connect_timeout_ms =
        config.params.take_int("connect_timeout_ms", o.connect_timeout_ms, 1, 3600000);
    o.timeout_ms = config.params.take_int("timeout_ms", o.timeout_ms, 1, 3600000);
    o.max_retries = int(config.params.take_int("max_retries", o.max_retries, 0, 100));
    o.retry_delay_ms = config.params.take_int("retry_delay_ms", o.retry_delay_ms, 0, 60000);
    o.health_check_interval_ms =
        config.params.take_int("health_check_interval_ms", o.health_check_interval_ms, 0, 86400000);
    o.tracking_heartbeat_ms =
        config.params.take_int("tracking_heartbeat_ms", o.tracking_heartbeat_ms, 10, 3600000);
    o.scan_count = size_t(config.params.take_int("scan_count", int64_t(o.scan_count), 1, 1000000));
    o.spin_us = config.params.take_int("spin_us", o.spin_us, 0, 1000);
    o.lazy_connect = config.params.take_bool("lazy_connect", o.lazy_connect);
}

RedisOptions parse_redis_options(Config &config)
{
    RedisOptions o;
    o.display = config.display;
    o.prefix = config.prefix;
    if (config.scheme == "rediss")
        fail(CACHE_ENOTSUP, "TLS is not supported by this build: '" + config.display +
                                "' needs rediss://, but unicache's Redis backend uses "
                                "hiredis 0.14 without TLS. Connect through a TLS tunnel "
                                "(stunnel, spiped) with redis://, or use a plaintext "
                                "redis:// server on a trusted network");

    o.unix_socket = config.scheme == "redis+unix";
    bool db_in_path = false;
    if (o.unix_socket) {
        if (!config.hosts.empty())
            fail(CACHE_EINVAL, "'" + config.display +
                                   "': redis+unix:// takes a socket path, not a host, "
                                   "as in redis+unix:///run/redis/redis.sock?db=0");
        o.socket_path = config.path;
        if (o.socket_path.empty() || o.socket_path == "/")
            fail(CACHE_EINVAL, "'" + config.display +
                                   "' names no socket: expected "
                                   "redis+unix:///path/to/redis.sock");
    } else {
        if (config.hosts.size() > 1)
            fail(CACHE_EINVAL, "'" + config.display +
                                   "' lists several hosts; redis:// talks to one server: "
                                   "use redis-cluster://h1:p1,h2:p2 for a Redis Cluster or "
                                   "redis-sentinel://s1:26379,s2:26379/0?master=name for "
                                   "Sentinel");
        if (!config.hosts.empty()) {
            o.host = config.hosts[0].host;
            if (config.hosts[0].port)
                o.port = config.hosts[0].port;
        }
        db_in_path = redis_db_from_path(config.path, config.display, &o.db);
    }

    if (config.params.has("db")) {
        if (db_in_path)
            fail(CACHE_EINVAL,
                 "'" + config.display + "' gives the database twice (in the path and as db=)");
    }
    o.db = config.params.take_int("db", o.db, 0, INT_MAX);
    parse_redis_connection_options(config, o);

    // Built from the parts, so it names the server even for a JSON
    // configuration and can never contain the password.
    std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
    o.where = "redis " + (o.unix_socket ? o.socket_path : host + ":" + std::to_string(o.port));
    if (o.db)
        o.where += " db " + std::to_string(o.db);
    return o;
}

} // namespace unicache
