#include "redis_cluster_backend.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <thread>
#include <unordered_set>

#include <hiredis.h>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/per_process.h"
#include "core/tag_name.h"
#include "redis_connection.h"

namespace unicache {

namespace {

constexpr int64_t kRefreshEveryNs = 100 * 1000000LL; // at most one map read per 100 ms
constexpr uint32_t kMovedBeforeRefresh = 4;
constexpr int64_t kLongestBackoffNs = 200 * 1000000LL;

bool reply_is(const redisReply *r, const char *text)
{
    size_t n = std::strlen(text);
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->len == n &&
           std::memcmp(r->str, text, n) == 0;
}

std::string reply_text(const redisReply *r)
{
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        return std::string(r->str, r->len);
    if (r && r->type == REDIS_REPLY_INTEGER)
        return std::to_string(r->integer);
    return "";
}

// "host:port" -> host, port ("[::1]:7000" too). False when malformed.
bool split_target(const std::string &target, std::string *host, int *port)
{
    size_t colon = target.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return false;
    *host = target.substr(0, colon);
    if (host->size() > 2 && host->front() == '[' && host->back() == ']')
        *host = host->substr(1, host->size() - 2);
    // A cluster bus port may follow ("127.0.0.1:7000@17000").
    *port = std::atoi(target.c_str() + colon + 1);
    return *port > 0 && *port < 65536;
}

struct ShardInfo {
    std::vector<std::pair<int, int>> ranges;
    std::string master_host;
    int master_port = 0;
    std::vector<std::pair<std::string, int>> replicas;
};

} // namespace

// ------------------------------------------------------------ tracking fan-in

// Every master's tracking (each node's RedisBackend::watch_changes) feeds
// one listener above: changes pass through; notifications are live only
// while every current master's are. A node that stops being a master no
// longer counts, and its keys' copies go with the changed_all() that comes
// before live(true).
class RedisClusterBackend::FanIn {
public:
    explicit FanIn(ChangeListener *up) : up_(up) {}

    class Leg final : public ChangeListener {
    public:
        Leg(FanIn *fan, RedisBackend *node) : fan_(fan), node_(node) {}
        void changed(Bytes key) override
        {
            std::lock_guard<std::mutex> lock(fan_->mu_);
            fan_->up_->changed(key);
        }
        void changed_all() override
        {
            std::lock_guard<std::mutex> lock(fan_->mu_);
            fan_->up_->changed_all();
        }
        void notifications_live(bool live) override
        {
            std::lock_guard<std::mutex> lock(fan_->mu_);
            fan_->renew_in_child();
            live_ = live;
            fan_->recompute();
        }
        bool live_ = false;

    private:
        FanIn *fan_;
        RedisBackend *node_;
    };

    // A leg for node, or nullptr when it has one already.
    Leg *add(RedisBackend *node)
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto &leg = legs_[node];
        if (leg)
            return nullptr;
        leg = std::make_unique<Leg>(this, node);
        return leg.get();
    }
    void forget(RedisBackend *node)
    {
        std::lock_guard<std::mutex> lock(mu_);
        legs_.erase(node);
        required_.erase(node);
        recompute();
    }
    void require(const std::vector<RedisBackend *> &masters)
    {
        std::lock_guard<std::mutex> lock(mu_);
        required_ = std::unordered_set<RedisBackend *>(masters.begin(), masters.end());
        recompute();
    }
    // The initial state, once (backend.h, rule 3).
    void report()
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!reported_)
            up_->notifications_live(live_);
        reported_ = true;
    }
    bool live()
    {
        std::lock_guard<std::mutex> lock(mu_);
        return live_;
    }

private:
    void renew_in_child() // with mu_ held
    {
        if (generation_ != fork_generation()) {
            // A forked child: its nodes' tracking starts afresh, and the
            // tier above waits for a live(true) of the child's own.
            generation_ = fork_generation();
            for (auto &leg : legs_)
                leg.second->live_ = false;
            live_ = false;
        }
    }

    void recompute() // with mu_ held
    {
        renew_in_child();
        bool all = !required_.empty();
        for (RedisBackend *n : required_) {
            auto it = legs_.find(n);
            all = all && it != legs_.end() && it->second->live_;
        }
        if (all == live_ && reported_)
            return;
        live_ = all;
        reported_ = true;
        if (all)
            up_->changed_all(); // whatever was missed while a node was down
        up_->notifications_live(all);
    }

    ChangeListener *up_;
    std::mutex mu_;
    std::map<RedisBackend *, std::unique_ptr<Leg>> legs_;
    std::unordered_set<RedisBackend *> required_;
    bool live_ = false;
    bool reported_ = false;
    uint64_t generation_ = fork_generation();
};

// ------------------------------------------------------------ the map

RedisClusterBackend::RedisClusterBackend(RedisOptions base, std::vector<HostPort> seeds,
                                         ReadFrom read_from)
    : base_(std::move(base)), seeds_(std::move(seeds)), read_from_(read_from),
      tag_scope_size_(tag_scope(base_.prefix).size()),
      master_(new std::atomic<RedisBackend *>[kRedisSlots]),
      replicas_(new std::atomic<const Replicas *>[kRedisSlots])
{
    for (int s = 0; s < kRedisSlots; s++) {
        master_[s].store(nullptr, std::memory_order_relaxed);
        replicas_[s].store(nullptr, std::memory_order_relaxed);
    }
    if (!base_.lazy_connect) {
        refresh(deadline());
        ping(); // every master: a password one of them refuses fails the open
    }
}

RedisClusterBackend::~RedisClusterBackend()
{
    // The nodes' tracking threads call into fan_in_: stop them first.
    nodes_.clear();
}

int64_t RedisClusterBackend::deadline() const
{
    return monotonic_ns() + base_.timeout_ms * 1000000;
}

RedisBackend *RedisClusterBackend::node(const std::string &host, int port)
{
    std::string key = host_port_text(host, port);
    std::lock_guard<std::mutex> lock(nodes_mu_);
    auto &slot = nodes_[key];
    if (!slot) {
        RedisOptions o = base_;
        o.host = host;
        o.port = port;
        o.where = "redis-cluster node " + key;
        o.lazy_connect = true;
        o.max_retries = 0; // retried here, after a look at the map
        o.per_slot_commands = true;
        o.readonly = read_from_ != ReadFrom::master;
        slot = std::make_unique<RedisBackend>(std::move(o));
        order_.push_back(slot.get());
    }
    return slot.get();
}

RedisBackend *RedisClusterBackend::node_at(const std::string &target)
{
    std::string host;
    int port = 0;
    if (!split_target(target, &host, &port))
        fail(CACHE_EIO, "redis-cluster: a redirection names no usable node ('" + target + "')");
    return node(host, port);
}

namespace {

// CLUSTER SHARDS (Redis 7): [{slots: [s, e, ...], nodes: [{ip, port, role,
// health, ...}, ...]}, ...] as flat RESP2 arrays.
bool parse_shards(const redisReply *r, const std::string &asked_host, std::vector<ShardInfo> *out)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return false;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *shard = r->element[i];
        if (shard->type != REDIS_REPLY_ARRAY)
            return false;
        ShardInfo info;
        for (size_t f = 0; f + 1 < shard->elements; f += 2) {
            const redisReply *v = shard->element[f + 1];
            if (reply_is(shard->element[f], "slots") && v->type == REDIS_REPLY_ARRAY) {
                for (size_t k = 0; k + 1 < v->elements; k += 2)
                    info.ranges.emplace_back(
                        int(std::atoll(reply_text(v->element[k]).c_str())),
                        int(std::atoll(reply_text(v->element[k + 1]).c_str())));
            } else if (reply_is(shard->element[f], "nodes") && v->type == REDIS_REPLY_ARRAY) {
                for (size_t n = 0; n < v->elements; n++) {
                    const redisReply *node = v->element[n];
                    if (node->type != REDIS_REPLY_ARRAY)
                        return false;
                    std::string ip, role, health;
                    int port = 0;
                    for (size_t a = 0; a + 1 < node->elements; a += 2) {
                        std::string name = reply_text(node->element[a]);
                        std::string value = reply_text(node->element[a + 1]);
                        if (name == "ip")
                            ip = value;
                        else if (name == "port")
                            port = std::atoi(value.c_str());
                        else if (name == "role")
                            role = value;
                        else if (name == "health")
                            health = value;
                    }
                    if (ip.empty() || ip == "?")
                        ip = asked_host;
                    if (role == "master") {
                        info.master_host = ip;
                        info.master_port = port;
                    } else if (health == "online" && port) {
                        info.replicas.emplace_back(ip, port);
                    }
                }
            }
        }
        if (info.master_port && !info.ranges.empty())
            out->push_back(std::move(info));
    }
    return true;
}

// CLUSTER SLOTS: [[start, end, [ip, port, id], [replica ip, port, id]...], ...]
bool parse_slots(const redisReply *r, const std::string &asked_host, std::vector<ShardInfo> *out)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return false;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
            return false;
        ShardInfo info;
        info.ranges.emplace_back(int(e->element[0]->integer), int(e->element[1]->integer));
        for (size_t n = 2; n < e->elements; n++) {
            const redisReply *node = e->element[n];
            if (node->type != REDIS_REPLY_ARRAY || node->elements < 2)
                return false;
            std::string ip = reply_text(node->element[0]);
            if (ip.empty() || ip == "?")
                ip = asked_host;
            int port = int(node->element[1]->integer);
            if (n == 2) {
                info.master_host = ip;
                info.master_port = port;
            } else {
                info.replicas.emplace_back(ip, port);
            }
        }
        out->push_back(std::move(info));
    }
    return true;
}

} // namespace

bool RedisClusterBackend::read_map(RedisBackend &from, const std::string &host, int port,
                                   std::string *why)
{
    std::vector<ShardInfo> shards;
    std::string where = "redis-cluster node " + host_port_text(host, port);
    try {
        bool parsed;
        try {
            RedisReply r = from.call({"CLUSTER", "SHARDS"}, "CLUSTER SHARDS");
            parsed = parse_shards(r.get(), host, &shards);
        } catch (const Error &e) {
            // Before Redis 7: no SHARDS subcommand.
            if (std::strstr(e.what(), "nknown subcommand") == nullptr &&
                std::strstr(e.what(), "nknown command") == nullptr)
                throw;
            RedisReply r = from.call({"CLUSTER", "SLOTS"}, "CLUSTER SLOTS");
            parsed = parse_slots(r.get(), host, &shards);
        }
        if (!parsed) {
            *why += (why->empty() ? "" : "; ") + where + ": CLUSTER SHARDS: unexpected reply";
            return false;
        }
    } catch (const Error &e) {
        std::string text = e.what();
        if (text.find("cluster support disabled") != std::string::npos)
            text = where + " is not a Redis Cluster node (cluster support disabled); use "
                           "redis://host:port for a single server";
        *why += (why->empty() ? "" : "; ") + text;
        return false;
    }
    if (shards.empty()) {
        *why += (why->empty() ? "" : "; ") + where + " serves no slots (cluster not set up yet?)";
        return false;
    }

    // Nodes first (node() takes nodes_mu_), then the map.
    std::vector<RedisBackend *> masters;
    std::vector<std::unique_ptr<Replicas>> sets;
    for (const ShardInfo &s : shards) {
        masters.push_back(node(s.master_host, s.master_port));
        auto set = std::make_unique<Replicas>();
        for (const auto &r : s.replicas)
            set->nodes.push_back(node(r.first, r.second));
        set->nearest = masters.back();
        if (read_from_ == ReadFrom::nearest) {
            // The lowest PING time, measured now, master included.
            int64_t best = INT64_MAX;
            std::vector<RedisBackend *> all = set->nodes;
            all.push_back(masters.back());
            for (RedisBackend *n : all) {
                int64_t t0 = monotonic_ns();
                try {
                    n->ping();
                } catch (const Error &) {
                    continue;
                }
                if (monotonic_ns() - t0 < best) {
                    best = monotonic_ns() - t0;
                    set->nearest = n;
                }
            }
        }
        sets.push_back(std::move(set));
    }
    std::vector<bool> covered(kRedisSlots, false);
    for (size_t i = 0; i < shards.size(); i++) {
        for (const auto &range : shards[i].ranges) {
            for (int slot = std::max(0, range.first);
                 slot <= std::min(kRedisSlots - 1, range.second); slot++) {
                master_[slot].store(masters[i], std::memory_order_release);
                replicas_[slot].store(sets[i].get(), std::memory_order_release);
                covered[size_t(slot)] = true;
            }
        }
    }
    for (int slot = 0; slot < kRedisSlots; slot++)
        if (!covered[size_t(slot)]) {
            master_[slot].store(nullptr, std::memory_order_release);
            replicas_[slot].store(nullptr, std::memory_order_release);
        }
    {
        // Replica sets are small and read without a lock: kept to the end.
        std::lock_guard<std::mutex> lock(nodes_mu_);
        for (auto &set : sets)
            replica_sets_.push_back(std::move(set));
    }
    refreshes_.fetch_add(1, std::memory_order_relaxed);
    last_refresh_ns_.store(monotonic_ns(), std::memory_order_relaxed);
    moved_since_refresh_.store(0, std::memory_order_relaxed);
    return true;
}

void RedisClusterBackend::refresh(int64_t deadline_ns)
{
    RedisCallScope scope;
    scope.deadline_ns = deadline_ns;
    RedisCallScope::Set in(scope);
    // The masters we know, then every other node we know, then the seeds.
    std::vector<std::pair<std::string, int>> candidates;
    std::unordered_set<std::string> seen;
    auto add = [&](const std::string &host, int port) {
        if (seen.insert(host_port_text(host, port)).second)
            candidates.emplace_back(host, port);
    };
    for (RedisBackend *m : masters())
        add(m->options().host, m->options().port);
    {
        std::lock_guard<std::mutex> lock(nodes_mu_);
        for (RedisBackend *n : order_)
            add(n->options().host, n->options().port);
    }
    for (const HostPort &h : seeds_)
        add(h.host, h.port);
    std::string why;
    bool all_auth = true, all_not_cluster = true;
    for (const auto &c : candidates) {
        if (monotonic_ns() >= deadline_ns) {
            why += "; no time left to ask the others (timeout_ms)";
            all_auth = all_not_cluster = false;
            break;
        }
        size_t before = why.size();
        if (read_map(*node(c.first, c.second), c.first, c.second, &why)) {
            watch_new_masters();
            return;
        }
        std::string last = why.substr(before);
        all_auth = all_auth && (last.find("password") != std::string::npos ||
                                last.find("NOAUTH") != std::string::npos ||
                                last.find("WRONGPASS") != std::string::npos);
        all_not_cluster =
            all_not_cluster && last.find("not a Redis Cluster node") != std::string::npos;
    }
    std::string message = "redis-cluster: no node answered with the slot map: " + why;
    if (all_not_cluster)
        fail(CACHE_EINVAL, message);
    if (all_auth)
        fail(CACHE_EAUTH, message);
    throw RedisIoError(CACHE_EUNAVAILABLE, message, false);
}

void RedisClusterBackend::refresh_soon(int64_t deadline_ns)
{
    int64_t now = monotonic_ns();
    if (now - last_refresh_ns_.load(std::memory_order_relaxed) < kRefreshEveryNs)
        return;
    std::unique_lock<std::mutex> lock(refresh_mu_, std::try_to_lock);
    if (!lock.owns_lock())
        return; // another thread is reading it
    last_refresh_ns_.store(now, std::memory_order_relaxed);
    try {
        refresh(deadline_ns);
    } catch (const Error &) {
        // The calls that follow report what is wrong with the node they need.
    }
}

std::vector<RedisBackend *> RedisClusterBackend::masters()
{
    std::vector<RedisBackend *> out;
    RedisBackend *last = nullptr;
    for (int s = 0; s < kRedisSlots; s++) {
        RedisBackend *m = master_[s].load(std::memory_order_acquire);
        if (m && m != last && std::find(out.begin(), out.end(), m) == out.end())
            out.push_back(m);
        last = m;
    }
    return out;
}

RedisBackend *RedisClusterBackend::pick(int slot, bool write, int64_t deadline_ns)
{
    RedisBackend *m = master_[slot].load(std::memory_order_acquire);
    if (!m) {
        refresh_soon(deadline_ns);
        m = master_[slot].load(std::memory_order_acquire);
        if (!m)
            throw RedisIoError(CACHE_EUNAVAILABLE,
                               "redis-cluster: hash slot " + std::to_string(slot) +
                                   " is served by no node (the cluster's slots are not all "
                                   "covered: see CLUSTER SHARDS)",
                               false);
    }
    if (write || read_from_ == ReadFrom::master)
        return m;
    const Replicas *r = replicas_[slot].load(std::memory_order_acquire);
    if (!r)
        return m;
    if (read_from_ == ReadFrom::nearest)
        return r->nearest ? r->nearest : m;
    if (r->nodes.empty())
        return m;
    return r->nodes[round_robin_.fetch_add(1, std::memory_order_relaxed) % r->nodes.size()];
}

// ------------------------------------------------------------ routing

template <typename Op>
auto RedisClusterBackend::route(int slot, bool write, bool replay_safe, int64_t deadline_ns,
                                Op &&op) -> decltype(op(std::declval<RedisBackend &>()))
{
    RedisCallScope scope;
    scope.deadline_ns = deadline_ns;
    RedisBackend *asked = nullptr; // ASK: that node once, the map left alone
    std::string seen;              // the redirections, for the message
    int64_t delay_ns = std::max<int64_t>(base_.retry_delay_ms, 1) * 1000000;
    auto note = [&](const std::string &what) {
        if (seen.size() < 600)
            seen += (seen.empty() ? "" : ", ") + what;
    };
    for (int attempt = 1;; attempt++) {
        RedisBackend *n = asked ? asked : pick(slot, write, deadline_ns);
        scope.asking = asked != nullptr;
        asked = nullptr;
        try {
            RedisCallScope::Set in(scope);
            return op(*n);
        } catch (const RedisReplyError &e) {
            const std::string &from = n->options().where;
            switch (e.kind()) {
            case RedisReplyError::moved:
                moved_.fetch_add(1, std::memory_order_relaxed);
                note("MOVED " + std::to_string(e.slot()) + " " + e.target() + " from " + from);
                if (e.slot() >= 0 && e.slot() < kRedisSlots)
                    master_[e.slot()].store(node_at(e.target()), std::memory_order_release);
                if (moved_since_refresh_.fetch_add(1, std::memory_order_relaxed) + 1 >=
                    kMovedBeforeRefresh)
                    refresh_soon(deadline_ns);
                break;
            case RedisReplyError::ask:
                asked_.fetch_add(1, std::memory_order_relaxed);
                note("ASK " + std::to_string(e.slot()) + " " + e.target() + " from " + from);
                asked = node_at(e.target());
                break;
            default: // TRYAGAIN, CLUSTERDOWN, READONLY: wait, then look again
                note(std::string(e.kind() == RedisReplyError::tryagain      ? "TRYAGAIN"
                                 : e.kind() == RedisReplyError::clusterdown ? "CLUSTERDOWN"
                                                                            : "READONLY") +
                     " from " + from);
                if (e.kind() == RedisReplyError::readonly)
                    refresh_soon(deadline_ns);
                break;
            }
            bool wait = e.kind() != RedisReplyError::moved && e.kind() != RedisReplyError::ask;
            if (attempt >= kMaxAttempts || monotonic_ns() + (wait ? delay_ns : 0) >= deadline_ns)
                fail(CACHE_EUNAVAILABLE, "redis-cluster: hash slot " + std::to_string(slot) +
                                             ": gave up after " + std::to_string(attempt) +
                                             " attempts within timeout_ms (" + seen +
                                             "); last: " + e.what());
            if (wait) {
                waits_.fetch_add(1, std::memory_order_relaxed);
                std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
                delay_ns = std::min(delay_ns * 2, kLongestBackoffNs);
            }
        } catch (const RedisIoError &e) {
            // A node down (a failover under way?) or a stale address.
            bool retry = e.status() == CACHE_EUNAVAILABLE && (replay_safe || !e.maybe_executed());
            if (!retry || attempt >= kMaxAttempts || monotonic_ns() + delay_ns >= deadline_ns) {
                if (attempt == 1)
                    throw;
                throw Error(e.status(), std::string(e.what()) + " (" + std::to_string(attempt) +
                                            " attempts" + (seen.empty() ? "" : "; " + seen) + ")");
            }
            note("unreachable: " + n->options().where);
            refresh_soon(deadline_ns);
            waits_.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
            delay_ns = std::min(delay_ns * 2, kLongestBackoffNs);
        }
    }
}

template <typename Batch, typename One>
void RedisClusterBackend::by_node(const Bytes *keys, size_t n, bool write, bool replay_safe,
                                  int64_t deadline_ns, Batch &&batch, One &&one)
{
    struct Item {
        RedisBackend *node;
        int slot;
        size_t index;
    };
    std::vector<Item> items(n);
    for (size_t i = 0; i < n; i++) {
        int slot = redis_key_slot(keys[i]);
        items[i] = Item{pick(slot, write, deadline_ns), slot, i};
    }
    std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) {
        return a.node != b.node ? a.node < b.node : a.slot < b.slot;
    });
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; i++)
        idx[i] = items[i].index;
    RedisCallScope scope;
    scope.deadline_ns = deadline_ns;
    for (size_t a = 0, b; a < n; a = b) {
        b = a + 1;
        while (b < n && items[b].node == items[a].node)
            b++;
        bool redo = false;
        try {
            RedisCallScope::Set in(scope);
            batch(*items[a].node, idx.data() + a, b - a);
        } catch (const RedisReplyError &) {
            redo = true; // part of it moved: key by key, each followed
        } catch (const RedisIoError &e) {
            if (e.status() != CACHE_EUNAVAILABLE || (!replay_safe && e.maybe_executed()))
                throw;
            redo = true;
        }
        if (redo) {
            refresh_soon(deadline_ns);
            for (size_t i = a; i < b; i++)
                one(idx[i]);
        }
    }
}

// ------------------------------------------------------------ single keys

void RedisClusterBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    route(redis_key_slot(key), true, true, deadline(),
          [&](RedisBackend &n) { n.set(key, value, ttl_ms); });
}

bool RedisClusterBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    return route(redis_key_slot(key), true, false, deadline(),
                 [&](RedisBackend &n) { return n.add(key, value, ttl_ms); });
}

bool RedisClusterBackend::get(Bytes key, OwnedBuffer *out)
{
    return route(redis_key_slot(key), false, true, deadline(),
                 [&](RedisBackend &n) { return n.get(key, out); });
}

bool RedisClusterBackend::del(Bytes key)
{
    return route(redis_key_slot(key), true, false, deadline(),
                 [&](RedisBackend &n) { return n.del(key); });
}

bool RedisClusterBackend::exists(Bytes key)
{
    return route(redis_key_slot(key), false, true, deadline(),
                 [&](RedisBackend &n) { return n.exists(key); });
}

int64_t RedisClusterBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    return route(redis_key_slot(key), true, false, deadline(),
                 [&](RedisBackend &n) { return n.incr(key, delta, ttl_ms_if_new); });
}

bool RedisClusterBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    return route(redis_key_slot(key), true, false, deadline(),
                 [&](RedisBackend &n) { return n.incr_existing(key, delta, result); });
}

bool RedisClusterBackend::touch(Bytes key, int64_t ttl_ms)
{
    return route(redis_key_slot(key), true, true, deadline(),
                 [&](RedisBackend &n) { return n.touch(key, ttl_ms); });
}

bool RedisClusterBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    return route(redis_key_slot(key), false, true, deadline(),
                 [&](RedisBackend &n) { return n.ttl(key, remaining_ms); });
}

bool RedisClusterBackend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    return route(redis_key_slot(key), false, true, deadline(),
                 [&](RedisBackend &n) { return n.get_entry(key, out, meta); });
}

void RedisClusterBackend::lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply)
{
    route(redis_key_slot(key), true, false, deadline(),
          [&](RedisBackend &n) { n.lease_get(key, request, reply); });
}

bool RedisClusterBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    int64_t d = deadline();
    int slot = redis_key_slot(key);
    // As set_tagged: each tag's registry learns the slot first.
    for (size_t i = 0; i < fill.ntags; i++) {
        std::string registry = pick(slot, true, d)->tag_registry_key(fill.tags[i]);
        route(redis_key_slot(registry), true, true, d,
              [&](RedisBackend &n) { n.register_tag_slot(registry, slot, fill.ttl_ms); });
    }
    return route(slot, true, false, d,
                 [&](RedisBackend &n) { return n.lease_set(key, token, value, fill); });
}

void RedisClusterBackend::lease_release(Bytes key, uint64_t token)
{
    route(redis_key_slot(key), true, true, deadline(),
          [&](RedisBackend &n) { n.lease_release(key, token); });
}

// ------------------------------------------------------------ batches

void RedisClusterBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    int64_t d = deadline();
    std::vector<Bytes> sub;
    std::vector<OwnedBuffer> sub_values;
    std::vector<int> sub_statuses;
    by_node(
        keys, n, false, true, d,
        [&](RedisBackend &node, const size_t *idx, size_t m) {
            sub.resize(m);
            for (size_t i = 0; i < m; i++)
                sub[i] = keys[idx[i]];
            sub_values.clear();
            sub_values.resize(m);
            sub_statuses.assign(m, CACHE_MISS);
            node.get_many(sub.data(), m, sub_values.data(), sub_statuses.data());
            for (size_t i = 0; i < m; i++) {
                values[idx[i]] = std::move(sub_values[i]);
                statuses[idx[i]] = sub_statuses[i];
            }
        },
        [&](size_t i) { statuses[i] = get(keys[i], &values[i]) ? CACHE_OK : CACHE_MISS; });
}

void RedisClusterBackend::get_entries(const Bytes *keys, size_t n, OwnedBuffer *values,
                                      EntryMeta *metas, int *statuses)
{
    int64_t d = deadline();
    std::vector<Bytes> sub;
    std::vector<OwnedBuffer> sub_values;
    std::vector<EntryMeta> sub_metas;
    std::vector<int> sub_statuses;
    by_node(
        keys, n, false, true, d,
        [&](RedisBackend &node, const size_t *idx, size_t m) {
            sub.resize(m);
            for (size_t i = 0; i < m; i++)
                sub[i] = keys[idx[i]];
            sub_values.clear();
            sub_values.resize(m);
            sub_metas.assign(m, EntryMeta());
            sub_statuses.assign(m, CACHE_MISS);
            node.get_entries(sub.data(), m, sub_values.data(), sub_metas.data(),
                             sub_statuses.data());
            for (size_t i = 0; i < m; i++) {
                values[idx[i]] = std::move(sub_values[i]);
                metas[idx[i]] = sub_metas[i];
                statuses[idx[i]] = sub_statuses[i];
            }
        },
        [&](size_t i) {
            statuses[i] = get_entry(keys[i], &values[i], &metas[i]) ? CACHE_OK : CACHE_MISS;
        });
}

void RedisClusterBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    int64_t d = deadline();
    std::vector<Bytes> sub_keys, sub_values;
    by_node(
        keys, n, true, true, d,
        [&](RedisBackend &node, const size_t *idx, size_t m) {
            sub_keys.resize(m);
            sub_values.resize(m);
            for (size_t i = 0; i < m; i++) {
                sub_keys[i] = keys[idx[i]];
                sub_values[i] = values[idx[i]];
            }
            node.set_many(sub_keys.data(), sub_values.data(), m, ttl_ms);
        },
        [&](size_t i) { set(keys[i], values[i], ttl_ms); });
}

size_t RedisClusterBackend::del_many(const Bytes *keys, size_t n)
{
    int64_t d = deadline();
    size_t removed = 0;
    std::vector<Bytes> sub;
    by_node(
        keys, n, true, false, d,
        [&](RedisBackend &node, const size_t *idx, size_t m) {
            sub.resize(m);
            for (size_t i = 0; i < m; i++)
                sub[i] = keys[idx[i]];
            removed += node.del_many(sub.data(), m);
        },
        [&](size_t i) { removed += del(keys[i]) ? 1 : 0; });
    return removed;
}

// ------------------------------------------------------------ every master

void RedisClusterBackend::keys(const GlobPattern &pattern, size_t limit,
                               std::vector<std::string> *out)
{
    out->clear();
    // A key being migrated may be on two masters for a moment.
    std::unordered_set<std::string> seen;
    std::vector<std::string> part;
    for (RedisBackend *m : masters()) {
        m->keys(pattern, limit, &part);
        for (std::string &k : part) {
            if (seen.insert(k).second) {
                out->push_back(std::move(k));
                if (limit && out->size() >= limit)
                    return;
            }
        }
    }
}

size_t RedisClusterBackend::delete_pattern(const GlobPattern &pattern)
{
    size_t removed = 0;
    for (RedisBackend *m : masters())
        removed += m->delete_pattern(pattern);
    return removed;
}

void RedisClusterBackend::clear(Bytes prefix)
{
    for (RedisBackend *m : masters())
        m->clear(prefix);
}

// ------------------------------------------------------------ tags

void RedisClusterBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                                     size_t ntags)
{
    if (ntags == 0) {
        set(key, value, ttl_ms);
        return;
    }
    int64_t d = deadline();
    int slot = redis_key_slot(key);
    // Each tag's registry learns the slot first: an invalidation that
    // starts after the entry is written then finds its index.
    for (size_t i = 0; i < ntags; i++) {
        std::string registry = pick(slot, true, d)->tag_registry_key(tags[i]);
        route(redis_key_slot(registry), true, true, d,
              [&](RedisBackend &n) { n.register_tag_slot(registry, slot, ttl_ms); });
    }
    route(slot, true, true, d,
          [&](RedisBackend &n) { n.set_tagged(key, value, ttl_ms, tags, ntags); });
}

size_t RedisClusterBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    if (n == 0)
        return 0;
    int64_t d = deadline();
    // slot -> the index keys to invalidate there
    std::map<int, std::vector<std::string>> by_slot;
    std::vector<RedisBackend *> ms = masters();
    if (ms.empty())
        fail(CACHE_EUNAVAILABLE, "redis-cluster: no master serves any slot");
    RedisBackend *any = ms.front(); // key names depend only on the prefix
    for (size_t i = 0; i < n; i++) {
        std::string registry = any->tag_registry_key(tags[i]);
        std::vector<int> slots;
        route(redis_key_slot(registry), true, true, d, [&](RedisBackend &node) {
            slots.clear();
            RedisReply r = node.call({"SMEMBERS", registry}, "SMEMBERS");
            if (r->type != REDIS_REPLY_ARRAY)
                fail(CACHE_EIO, node.options().where + ": SMEMBERS: the tag registry is not a set");
            for (size_t k = 0; k < r->elements; k++)
                slots.push_back(std::atoi(reply_text(r->element[k]).c_str()) & (kRedisSlots - 1));
        });
        for (int s : slots)
            by_slot[s].push_back(any->slot_tag_key(tags[i], s));
    }
    size_t removed = 0;
    for (const auto &entry : by_slot)
        removed += route(entry.first, true, false, d, [&](RedisBackend &node) {
            return node.invalidate_index_keys(entry.second);
        });
    return removed;
}

// ------------------------------------------------------------ tracking

bool RedisClusterBackend::watch_changes(ChangeListener *listener)
{
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (fan_in_)
        fail(CACHE_EINVAL, "redis-cluster: watch_changes() called twice");
    fan_in_ = std::make_unique<FanIn>(listener);
    std::vector<RedisBackend *> ms = masters();
    fan_in_->require(ms);
    for (RedisBackend *m : ms) {
        FanIn::Leg *leg = fan_in_->add(m);
        if (leg && !m->watch_changes(leg)) {
            fan_in_.reset(); // before Redis 6: the tier bounds its copies instead
            return false;
        }
    }
    fan_in_->report();
    return true;
}

void RedisClusterBackend::watch_new_masters()
{
    std::unique_lock<std::mutex> lock(watch_mu_, std::try_to_lock);
    if (!lock.owns_lock() || !fan_in_)
        return; // watch_changes() itself is setting up (and requires them)
    std::vector<RedisBackend *> ms = masters();
    for (RedisBackend *m : ms) {
        FanIn::Leg *leg = fan_in_->add(m);
        if (leg)
            m->watch_changes(leg);
    }
    fan_in_->require(ms);
}

// ------------------------------------------------------------ management

void RedisClusterBackend::ping()
{
    std::vector<RedisBackend *> ms = masters();
    if (ms.empty())
        pick(0, true, deadline()); // throws: no slot is served
    for (RedisBackend *m : ms)
        m->ping();
}

std::string RedisClusterBackend::info()
{
    std::vector<RedisBackend *> ms = masters();
    int covered = 0;
    for (int s = 0; s < kRedisSlots; s++)
        covered += master_[s].load(std::memory_order_relaxed) ? 1 : 0;
    size_t known;
    {
        std::lock_guard<std::mutex> lock(nodes_mu_);
        known = order_.size();
    }
    std::string text = "# Unicache cluster\r\n";
    auto line = [&](const char *name, const std::string &v) { text += name + (":" + v + "\r\n"); };
    line("uri", base_.display);
    line("read_from", read_from_ == ReadFrom::master    ? "master"
                      : read_from_ == ReadFrom::replica ? "replica"
                                                        : "nearest");
    line("masters", std::to_string(ms.size()));
    std::string list;
    for (RedisBackend *m : ms)
        list += (list.empty() ? "" : ",") + host_port_text(m->options().host, m->options().port);
    line("master_nodes", list);
    line("nodes_known", std::to_string(known));
    line("slots_covered", std::to_string(covered));
    line("map_refreshes", std::to_string(refreshes_.load()));
    line("moved_redirections", std::to_string(moved_.load()));
    line("ask_redirections", std::to_string(asked_.load()));
    line("backoff_waits", std::to_string(waits_.load()));
    line("timeout_ms", std::to_string(base_.timeout_ms));
    line("pool_size_per_node", std::to_string(base_.pool_size));
    if (fan_in_)
        line("tracking", fan_in_->live() ? "live" : "down");
    return text;
}

BackendStats RedisClusterBackend::stats(Bytes prefix)
{
    BackendStats s;
    if (prefix.empty()) {
        int64_t total = 0;
        for (RedisBackend *m : masters()) {
            BackendStats part = m->stats(prefix);
            if (part.size < 0)
                return s; // a master unreachable: cannot tell
            total += part.size;
        }
        s.size = total;
    }
    return s;
}

std::unique_ptr<Backend> make_redis_cluster_backend(Config &config)
{
    RedisOptions o;
    o.display = config.display;
    o.prefix = config.prefix;
    if (config.hosts.empty())
        fail(CACHE_EINVAL, "'" + config.display +
                               "' names no node: expected "
                               "redis-cluster://host1:port1,host2:port2");
    std::vector<HostPort> seeds = config.hosts;
    for (HostPort &h : seeds)
        if (!h.port)
            h.port = 6379;
    if (!(config.path.empty() || config.path == "/" || config.path == "/0"))
        fail(CACHE_EINVAL,
             "'" + config.display + "': a Redis Cluster has only database 0; drop the path");
    std::string read_from =
        config.params.take_choice("read_from", "master", {"master", "replica", "nearest"});
    parse_redis_connection_options(config, o);
    o.where = "redis-cluster";
    config.params.finish(config.scheme); // every parameter checked before connecting
    RedisClusterBackend::ReadFrom rf =
        read_from == "replica"   ? RedisClusterBackend::ReadFrom::replica
        : read_from == "nearest" ? RedisClusterBackend::ReadFrom::nearest
                                 : RedisClusterBackend::ReadFrom::master;
    return std::make_unique<RedisClusterBackend>(std::move(o), std::move(seeds), rf);
}

} // namespace unicache
