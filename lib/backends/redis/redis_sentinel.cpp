#include "redis_sentinel.h"

#include <climits>

#include <hiredis.h>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/error.h"
#include "redis_backend.h"
#include "redis_connection.h"

namespace unicache {

namespace {

constexpr int kSentinelPort = 26379;

} // namespace

RedisSentinelLocator::RedisSentinelLocator(std::vector<HostPort> sentinels, std::string master,
                                           RedisOptions sentinel_opts)
    : sentinels_(std::move(sentinels)), master_(std::move(master)), opts_(std::move(sentinel_opts))
{
}

RedisEndpoint RedisSentinelLocator::locate(int64_t deadline_ns)
{
    lookups_.fetch_add(1, std::memory_order_relaxed);
    size_t n = sentinels_.size();
    size_t start = first_.load(std::memory_order_relaxed) % n;
    std::string why;
    bool any_io = false, any_auth = false;
    for (size_t i = 0; i < n; i++) {
        size_t at = (start + i) % n;
        const HostPort &s = sentinels_[at];
        RedisEndpoint here{s.host, s.port, "redis-sentinel " + host_port_text(s.host, s.port)};
        if (i > 0 && monotonic_ns() >= deadline_ns) {
            why += "; the others were not asked (timeout_ms)";
            any_io = true;
            break;
        }
        try {
            // A sentinel that is down must not eat the others' time: each
            // is given what is left of the call.
            std::unique_ptr<RedisConnection> c = RedisConnection::open(opts_, deadline_ns, &here);
            c->command({"SENTINEL", "get-master-addr-by-name", master_});
            RedisReply r = c->checked("SENTINEL get-master-addr-by-name");
            if (r->type == REDIS_REPLY_NIL) {
                why += (why.empty() ? "" : "; ") + here.where + " monitors no master named '" +
                       master_ + "'";
                continue;
            }
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                r->element[0]->type != REDIS_REPLY_STRING ||
                r->element[1]->type != REDIS_REPLY_STRING)
                c->fail_type(r.get(), "SENTINEL get-master-addr-by-name", "[host, port]");
            RedisEndpoint found;
            found.host.assign(r->element[0]->str, r->element[0]->len);
            found.port = std::atoi(r->element[1]->str);
            found.where = "redis " + host_port_text(found.host, found.port) + " (master '" +
                          master_ + "' from " + here.where + ")";
            first_.store(at, std::memory_order_relaxed);
            return found;
        } catch (const RedisIoError &e) {
            any_io = true;
            why += (why.empty() ? "" : "; ") + std::string(e.what());
        } catch (const Error &e) {
            if (e.status() == CACHE_EAUTH)
                any_auth = true;
            else
                any_io = true;
            why += (why.empty() ? "" : "; ") + std::string(e.what());
        }
    }
    if (any_io)
        throw RedisIoError(CACHE_EUNAVAILABLE,
                           "redis-sentinel: no sentinel named the master '" + master_ + "': " + why,
                           false);
    if (any_auth)
        fail(CACHE_EAUTH, "redis-sentinel: the sentinels refused the password (sentinel_user, "
                          "sentinel_password): " +
                              why);
    fail(CACHE_EINVAL, "redis-sentinel: " + why + " (check master=)");
}

std::unique_ptr<Backend> make_redis_sentinel_backend(Config &config)
{
    RedisOptions o;
    o.display = config.display;
    o.prefix = config.prefix;
    if (config.hosts.empty())
        fail(CACHE_EINVAL, "'" + config.display +
                               "' names no sentinel: expected "
                               "redis-sentinel://s1:26379,s2:26379/0?master=name");
    std::vector<HostPort> sentinels = config.hosts;
    for (HostPort &h : sentinels)
        if (!h.port)
            h.port = kSentinelPort;
    bool db_in_path = redis_db_from_path(config.path, config.display, &o.db);
    if (db_in_path && config.params.has("db"))
        fail(CACHE_EINVAL,
             "'" + config.display + "' gives the database twice (in the path and as db=)");
    o.db = config.params.take_int("db", o.db, 0, INT_MAX);
    std::string master = config.params.take_string("master", "");
    if (master.empty())
        fail(CACHE_EINVAL, "'" + config.display +
                               "' names no master: add master=<name>, the name the sentinels "
                               "monitor it by (sentinel monitor <name> ...)");
    RedisOptions so;
    so.user = config.params.take_string("sentinel_user", "");
    so.password = config.params.take_string("sentinel_password", "");
    if (!so.user.empty() && so.password.empty())
        fail(CACHE_EINVAL,
             "'" + config.display + "' gives sentinel_user without sentinel_password");
    so.auth = !so.password.empty();
    parse_redis_connection_options(config, o);
    o.expect_master = true;
    o.where = "redis-sentinel master '" + master + "'";
    if (o.db)
        o.where += " db " + std::to_string(o.db);
    so.connect_timeout_ms = o.connect_timeout_ms;
    so.timeout_ms = o.timeout_ms;
    so.spin_us = 0;
    so.where = "redis-sentinel";
    config.params.finish(config.scheme); // every parameter checked before connecting
    auto locator =
        std::make_unique<RedisSentinelLocator>(std::move(sentinels), master, std::move(so));
    return std::make_unique<RedisBackend>(std::move(o), std::move(locator));
}

} // namespace unicache
