// Redis Sentinel: redis-sentinel://[user:password@]s1:26379,s2:26379[/db]?master=name
//
// The cache is the plain Redis backend (redis_backend.h) on whichever server
// the sentinels name as the master of `name`: RedisSentinelLocator asks them
// (SENTINEL get-master-addr-by-name), one after the other, starting with the
// one that answered last. The pool asks again after a connection fails or a
// server answers READONLY, and every new connection checks with ROLE that
// it reached a master, so after a failover the next call that finds the old
// master gone (or demoted) follows the new one within its deadline and
// retries. The userinfo's password is the data nodes'; the sentinels have
// their own (sentinel_user=, sentinel_password=), and neither is ever put in
// a message.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/config.h"
#include "redis_options.h"
#include "redis_pool.h"

namespace unicache {

class RedisSentinelLocator final : public RedisLocator {
public:
    // sentinel_opts: credentials and timeouts for the sentinels (host and
    // port are taken from `sentinels`).
    RedisSentinelLocator(std::vector<HostPort> sentinels, std::string master,
                         RedisOptions sentinel_opts);

    // Throws RedisIoError(CACHE_EUNAVAILABLE) when no sentinel answered,
    // Error(CACHE_EAUTH) when every one that answered refused the
    // password, Error(CACHE_EINVAL) when the ones that answered know no
    // master of that name.
    RedisEndpoint locate(int64_t deadline_ns) override;

    uint64_t lookups() const { return lookups_.load(std::memory_order_relaxed); }

private:
    std::vector<HostPort> sentinels_;
    std::string master_;
    RedisOptions opts_;
    std::atomic<size_t> first_{0}; // the sentinel that answered last
    std::atomic<uint64_t> lookups_{0};
};

} // namespace unicache
