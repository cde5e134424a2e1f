#include "memcached_backend.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <random>
#include <sys/random.h>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/expiry.h"
#include "core/log.h"
#include "item_keys.h"
#include "memcached_status.h"
#include "server_health.h"

namespace unicache {

namespace {

constexpr uint16_t kDefaultPort = 11211;
// memcached reads an expiry above 30 days as an absolute Unix time.
constexpr int64_t kMaxRelativeExpiry = 30 * 24 * 3600;
// gets + cas rounds before an update gives up under constant contention.
constexpr int kMaxCasRounds = 10000;
// Bytes of envelope scratch a connection keeps between calls.
constexpr size_t kKeptScratch = 64 * 1024;
// memcached's own ceiling on -I (ITEM_SIZE_MAX_UPPER_LIMIT).
constexpr size_t kMaxItemCeiling = size_t(1) << 30;

// A nonzero random start below 2^62 for a counter, so that a counter that
// was evicted and created again does not return to a value some entry
// recorded earlier, and 2^62 increments (clears, invalidations) go by before
// memcached's 64-bit incr could wrap.
uint64_t random_counter()
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v) {
        std::random_device rd;
        v = (uint64_t(rd()) << 32) ^ rd();
    }
    return (v >> 2) | 1;
}

// Strict unsigned decimal, as memcached's incr writes it.
bool parse_u64(Bytes text, uint64_t *out)
{
    if (text.empty() || text.size() > 20)
        return false;
    uint64_t v = 0;
    for (unsigned char c : text) {
        if (c < '0' || c > '9')
            return false;
        uint64_t next = v * 10 + (c - '0');
        if (next / 10 != v)
            return false;
        v = next;
    }
    *out = v;
    return true;
}

// memcached's expiry for an entry that must live until deadline_ms (wall
// clock). Rounded up to whole seconds, plus one because memcached's clock
// ticks once a second and may expire an item up to a second early; beyond
// 30 days it is an absolute time; beyond what memcached can represent the
// server keeps the item and the deadline in the envelope expires it.
time_t exptime_until(int64_t deadline_ms)
{
    int64_t now = wall_ms();
    int64_t remaining = std::max<int64_t>(ms_until(deadline_ms, now), 1);
    int64_t secs = remaining / 1000 + (remaining % 1000 != 0) + 1;
    if (secs <= kMaxRelativeExpiry)
        return time_t(secs);
    int64_t at = deadline_ms / 1000 + (deadline_ms % 1000 != 0) + 1;
    return at > INT32_MAX ? 0 : time_t(at);
}

std::string host_port(const memcached_instance_st *server)
{
    return std::string(memcached_server_name(server)) + ":" +
           std::to_string(memcached_server_port(server));
}

std::string host_port(const memcached_st *mc, uint32_t server)
{
    return host_port(memcached_server_instance_by_position(mc, server));
}

// fail_memcached() for a libmemcached call on c. When a server failed
// there, libmemcached now holds it as down (for retry_timeout_s); the
// connection's fast-get sockets leave their servers to libmemcached until it
// has answered a get from each again, so that a get never waits on our
// socket for a server libmemcached would fail at once.
//
// A call whose deadline passed (DeadlineWatch set the handle's timeouts to
// 0) or whose wait timed out is CACHE_ETIMEOUT naming timeout_ms, and the
// handle's connections are closed: a reply may have been half read, and its
// rest must not be taken for the answer to the next call.
[[noreturn]] void fail_call(Connection &c, memcached_return_t rc, const std::string &what)
{
    int status = memcached_status(c.mc, rc);
    int64_t deadline = c.deadline_ns.load(std::memory_order_relaxed);
    bool late = deadline && monotonic_ns() >= deadline;
    if (status == CACHE_EUNAVAILABLE || status == CACHE_ETIMEOUT || late)
        for (TextGetSocket &s : c.sockets)
            s.server_failed();
    auto *o = static_cast<const MemcachedOptions *>(memcached_get_user_data(c.mc));
    // A server that refused a SASL login is then skipped by libmemcached (or
    // closes the connection): within retry_timeout_s of the refusal, that is
    // still the login's failure, and said so.
    bool after_refusal = status == CACHE_EUNAVAILABLE && monotonic_ms() < c.auth_refused_until_ms;
    if (after_refusal)
        status = CACHE_EAUTH;
    if (status == CACHE_EAUTH) {
        if (o && !after_refusal)
            c.auth_refused_until_ms = monotonic_ms() + (o->retry_timeout_s + 1) * 1000;
        bool login = o && !o->user.empty();
        fail(CACHE_EAUTH,
             "memcached " + what + " failed: authentication refused (" +
                 memcached_detail(c.mc, rc) + "): " +
                 (login ? "the server did not accept user '" + o->user + "' with the password given"
                        : "the server requires a login (memcached -Y or -S); give "
                          "it in the URI, memcached://user:password@host:port"));
    }
    if ((status == CACHE_EUNAVAILABLE || status == CACHE_ETIMEOUT || late) &&
        log_enabled(CACHE_LOG_WARN))
        server_health::failed(
            c.mc, rc, what + " failed: " + memcached_detail(c.mc, rc),
            memcached_behavior_get(c.mc, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS) != 0,
            int64_t(memcached_behavior_get(c.mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT)));
    if (status != CACHE_ETIMEOUT && !late)
        fail_memcached(c.mc, rc, what);
    std::string detail = memcached_detail(c.mc, rc);
    DeadlineWatch::disarm(c);
    c.mc->poll_timeout = 0; // the drain in memcached_quit must not wait
    memcached_quit(c.mc);
    fail(CACHE_ETIMEOUT, "memcached " + what +
                             " failed: the call did not complete within timeout_ms=" +
                             std::to_string(c.timeout_ms) + " (" + detail + ")");
}

// Runs one multi-get and calls on_item for every item that comes back.
// Drains the remaining replies if on_item throws, so the connection stays
// usable.
template <typename OnItem>
void multi_get(Connection &c, const char *const *names, const size_t *lens, size_t n,
               memcached_result_st *into, const char *what, OnItem &&on_item)
{
    memcached_return_t rc = memcached_mget(c.mc, names, lens, n);
    memcached_return_t frc = MEMCACHED_SUCCESS;
    if (rc != MEMCACHED_SUCCESS) {
        while (memcached_fetch_result(c.mc, into, &frc)) {
        }
        fail_call(c, rc, what);
    }
    memcached_result_st *r;
    try {
        while ((r = memcached_fetch_result(c.mc, into, &frc)))
            on_item(r);
    } catch (...) {
        while (memcached_fetch_result(c.mc, into, &frc)) {
        }
        throw;
    }
    // A timeout while reading is reported as NOTFOUND by fetch; the error
    // recorded on the handle tells the truth.
    if (memcached_is_error(frc))
        fail_call(c, frc, what);
    if (memcached_is_error(memcached_last_error(c.mc)))
        fail_call(c, memcached_last_error(c.mc), what);
}

Bytes value_of(const memcached_result_st *r)
{
    const char *p = memcached_result_value(r);
    return Bytes(p ? p : "", memcached_result_length(r));
}

} // namespace

MemcachedBackend::MemcachedBackend(const MemcachedOptions &opts) : opts_(opts)
{
    for (const HostPort &h : opts_.hosts) {
        servers_ += servers_.empty() ? "" : ",";
        servers_ += h.host + ":" + std::to_string(h.port ? h.port : kDefaultPort);
    }
    pool_ = std::make_unique<PerProcess<ConnectionPool>>([this] {
        auto pool = std::make_unique<ConnectionPool>([this] { return connect(); }, opts_.pool_size,
                                                     opts_.hosts.size(), opts_.timeout_ms);
        if (!opts_.user.empty() && !opts_.binary)
            pool->set_prepare([this](Connection &c) { log_in(c); });
        return pool;
    });
    namespaces_ = !opts_.raw_prefix;
    using Kind = GenerationTable::Kind;
    size_t n = opts_.hosts.size();
    root_ = GenerationTable::find(servers_, Kind::prefix, "", n);
    if (opts_.prefix.empty())
        generations_ = root_;
    else if (!namespaces_)
        generations_ = GenerationTable::find(servers_, Kind::prefix, opts_.prefix, n);
    else // the head without its separator
        generations_ = GenerationTable::find(servers_, Kind::space,
                                             opts_.prefix.substr(0, opts_.prefix.size() - 1), n);
}

memcached_st *MemcachedBackend::connect() const
{
    // Nothing is sent here: libmemcached connects on first use, so a server
    // that is down at open time only fails the calls that need it.
    std::unique_ptr<memcached_st, void (*)(memcached_st *)> m(memcached_create(nullptr),
                                                              memcached_free);
    if (!m)
        throw std::bad_alloc();
    auto behave = [&](memcached_behavior_t b, uint64_t v) {
        memcached_return_t rc = memcached_behavior_set(m.get(), b, v);
        if (rc != MEMCACHED_SUCCESS)
            fail(CACHE_EINTERNAL,
                 "libmemcached refused a setting: " + memcached_detail(m.get(), rc));
    };
    behave(MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, opts_.binary);
    // One server needs no ring: libmemcached would still search the ketama
    // continuum for every key of every call.
    if (opts_.hosts.size() > 1)
        behave(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    behave(MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
    behave(MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    behave(MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, uint64_t(opts_.timeout_ms));
    behave(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, uint64_t(opts_.timeout_ms));
    behave(MEMCACHED_BEHAVIOR_SND_TIMEOUT, uint64_t(opts_.timeout_ms) * 1000);
    behave(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, uint64_t(opts_.timeout_ms) * 1000);
    // A failed server is skipped for retry_timeout_s; after two failures in
    // a row, remove_failed_servers takes it out of the ring for as long.
    behave(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, uint64_t(opts_.retry_timeout_s));
    behave(MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, uint64_t(opts_.retry_timeout_s));
    behave(MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
    behave(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, opts_.remove_failed_servers);
    // For the messages of fail_call(): whether a login was given, and whose.
    memcached_set_user_data(m.get(), const_cast<MemcachedOptions *>(&opts_));
    if (opts_.binary && !opts_.user.empty()) {
        // libmemcached logs every binary connection in with SASL PLAIN.
        memcached_return_t rc =
            memcached_set_sasl_auth_data(m.get(), opts_.user.c_str(), opts_.password.c_str());
        if (rc != MEMCACHED_SUCCESS)
            fail(CACHE_EINTERNAL,
                 "libmemcached refused the SASL login data: " + memcached_detail(m.get(), rc));
    }
    for (const HostPort &h : opts_.hosts) {
        in_port_t port = in_port_t(h.port ? h.port : kDefaultPort);
        memcached_return_t rc = memcached_server_add(m.get(), h.host.c_str(), port);
        if (rc != MEMCACHED_SUCCESS)
            fail(CACHE_EINVAL,
                 "memcached server '" + h.host + "': " + memcached_detail(m.get(), rc));
    }
    // Generation counters are placed by their anchor (item_keys.h).
    // hashkit_st is public; filling it here instead of calling
    // hashkit_set_custom_function() spares every static consumer a direct
    // -lhashkit that libmemcached's pkg-config file does not list. Weighted
    // ketama hashes the servers with MD5 itself, so only keys use this.
    hashkit_st kit = *memcached_get_hashkit(m.get());
    kit.base_hash.function = item_keys::server_hash;
    kit.base_hash.context = nullptr;
    kit._key = nullptr;
    memcached_set_hashkit(m.get(), &kit);
    return m.release();
}

// ------------------------------------------------------------------- login

// memcached -Y takes a login as a "set" whose data is "<user> <password>",
// once per connection, and answers every other command before it with
// "CLIENT_ERROR unauthenticated". libmemcached does not know this, and it
// reconnects on its own, so before each call every server whose connection
// has not answered a command yet (its version is unknown: libmemcached asks
// for it on connect, and forgets it on disconnect) is asked its version;
// only one that answers "unauthenticated" gets the login. A server that
// needs none is thus never sent the password as data it would store.
void MemcachedBackend::log_in(Connection &c)
{
    for (uint32_t s = 0; s < opts_.hosts.size(); s++) {
        const memcached_instance_st *server = memcached_server_instance_by_position(c.mc, s);
        if (memcached_server_major_version(server) != UINT8_MAX)
            continue; // this connection has answered a command
        memcached_version(c.mc);
        if (memcached_server_major_version(server) != UINT8_MAX || !memcached_auth_refused(c.mc))
            continue; // logged in, no login needed, or down: the call reports it
        std::string login = opts_.user + " " + opts_.password;
        // Any name that lands on this server; exptime 1 in case a server
        // restarted without -Y in between stored it after all.
        std::string name = item_keys::generation_key(anchor_for(c, s), "~login");
        memcached_return_t rc =
            memcached_set(c.mc, name.data(), name.size(), login.data(), login.size(), 1, 0);
        if (rc != MEMCACHED_SUCCESS)
            fail_call(c, rc, "login");
        memcached_version(c.mc);
    }
}

// ------------------------------------------------------------------ naming

uint32_t MemcachedBackend::server_of(Connection &c, Bytes name)
{
    if (opts_.hosts.size() == 1)
        return 0;
    memcached_autoeject(c.mc);
    return memcached_generate_hash(c.mc, name.data(), name.size());
}

unsigned MemcachedBackend::anchor_for(Connection &c, uint32_t server)
{
    if (opts_.hosts.size() == 1)
        return 0;
    memcached_autoeject(c.mc);
    char probe[16];
    unsigned limit = unsigned(opts_.hosts.size()) * 1000;
    for (unsigned n = 0; n < limit; n++) {
        int len = snprintf(probe, sizeof probe, "~g%u|", n);
        if (memcached_generate_hash(c.mc, probe, size_t(len)) == server)
            return n;
    }
    fail(CACHE_EUNAVAILABLE, "memcached server " + host_port(c.mc, server) +
                                 " is out of the pool (remove_failed_servers) and cannot be "
                                 "reached until it is retried");
}

void MemcachedBackend::name_entry(Connection &c, Bytes full_key)
{
    c.hashed = !item_keys::is_verbatim(full_key);
    if (c.hashed) {
        c.digest.clear();
        item_keys::append_digest_name(full_key, &c.digest);
        c.key = c.digest;
    } else {
        c.key = full_key;
    }
    c.server = server_of(c, c.key);
    c.generation = generation_of(c, c.server, full_key, monotonic_ms());
}

Bytes MemcachedBackend::space_of(Bytes full_key)
{
    size_t bar = full_key.find(kNamespaceSeparator);
    return bar == Bytes::npos ? Bytes() : full_key.substr(0, bar);
}

uint64_t MemcachedBackend::generation_of(Connection &c, uint32_t server, Bytes full_key,
                                         int64_t now)
{
    if (!namespaces_)
        return generation(c, server, now, *generations_);
    // A namespace handle's keys all start with its head; only a root
    // handle's keys need looking at.
    const std::string &head = opts_.prefix;
    if (!head.empty() && full_key.substr(0, head.size()) == Bytes(head))
        return generation(c, server, now, *generations_);
    Bytes space = space_of(full_key);
    if (space.empty())
        return generation(c, server, now, *root_);
    std::shared_ptr<GenerationTable> table = space_table(space);
    return generation(c, server, now, *table);
}

std::shared_ptr<GenerationTable> MemcachedBackend::space_table(Bytes space)
{
    std::string name(space);
    std::lock_guard<std::mutex> lock(spaces_mu_);
    auto it = spaces_.find(name);
    if (it != spaces_.end())
        return it->second;
    // Bounded: a root handle may read keys of any number of namespaces;
    // a dropped table is found again (GenerationTable::find shares them).
    if (spaces_.size() >= 1024)
        spaces_.clear();
    auto table =
        GenerationTable::find(servers_, GenerationTable::Kind::space, name, opts_.hosts.size());
    spaces_.emplace(std::move(name), table);
    return table;
}

std::string MemcachedBackend::counter_name(Connection &c, uint32_t server,
                                           const GenerationTable &table, uint64_t root)
{
    unsigned anchor = anchor_for(c, server);
    if (table.kind() == GenerationTable::Kind::space)
        return item_keys::namespace_generation_key(anchor, root, table.name());
    return item_keys::generation_key(anchor, table.name());
}

// The generation is cached in-process for generation_cache_ms: reading it
// before every call would double every round trip. The price: a clear()
// made by another process is seen here up to generation_cache_ms late
// (one made through any handle of this process is seen at once). A
// namespace's value holds for the root generation it was read under: once
// the root moves on (a root clear), it is read again under the new name.
uint64_t MemcachedBackend::generation(Connection &c, uint32_t server, int64_t now,
                                      GenerationTable &table)
{
    uint64_t root = 0;
    if (table.kind() == GenerationTable::Kind::space)
        root = generation(c, server, now, *root_);
    GenerationTable::Slot &slot = table.slot(server);
    // root before value: a refresh stores its value before its root.
    bool same_root = slot.root.load(std::memory_order_acquire) == root;
    uint64_t known = slot.value.load(std::memory_order_acquire);
    bool cached = opts_.generation_cache_ms > 0 && known && same_root;
    if (cached && now - slot.checked_ms.load(std::memory_order_relaxed) < opts_.generation_cache_ms)
        return known;
    // Stale: one thread reads it again; the others keep using the old value.
    if (cached && slot.refreshing.exchange(true, std::memory_order_acq_rel))
        return known;
    struct Done {
        GenerationTable::Slot &slot;
        bool owned;
        ~Done()
        {
            if (owned)
                slot.refreshing.store(false, std::memory_order_release);
        }
    } done{slot, cached};
    uint64_t fresh = read_generation(c, counter_name(c, server, table, root));
    slot.value.store(fresh, std::memory_order_release);
    slot.root.store(root, std::memory_order_release);
    slot.checked_ms.store(now, std::memory_order_relaxed);
    return fresh;
}

uint64_t MemcachedBackend::read_generation(Connection &c, const std::string &name)
{
    const char *p = name.data();
    size_t len = name.size();
    for (int round = 0; round < kMaxCasRounds; round++) {
        uint64_t value = 0;
        bool found = false;
        multi_get(c, &p, &len, 1, &c.scratch, "read of the prefix generation",
                  [&](memcached_result_st *r) {
                      if (!parse_u64(value_of(r), &value) || value == 0)
                          fail(CACHE_ECORRUPT, "the memcached item '" + name +
                                                   "' (a unicache prefix generation) does "
                                                   "not hold a positive decimal number");
                      found = true;
                  });
        if (found)
            return value;
        uint64_t start = random_counter();
        std::string text = std::to_string(start);
        memcached_return_t rc = memcached_add(c.mc, p, len, text.data(), text.size(), 0, 0);
        if (rc == MEMCACHED_SUCCESS)
            return start;
        if (memcached_is_error(rc))
            fail_call(c, rc, "creation of the prefix generation");
    }
    fail(CACHE_EIO, "the memcached prefix generation '" + name + "' kept disappearing");
}

// libmemcached 1.1's binary incr asserts (aborting the process) when a
// SASL server answers it with an authentication error, and a binary read
// there is a plain miss; a touch of the same name reports that error as an
// error. Harmless: the counters never expire, and exptime 0 keeps it so.
void MemcachedBackend::before_binary_increment(Connection &c, const std::string &name)
{
    if (!opts_.binary)
        return;
    memcached_return_t rc = memcached_touch(c.mc, name.data(), name.size(), 0);
    if (memcached_is_error(rc))
        fail_call(c, rc, "touch before an increment");
}

uint64_t MemcachedBackend::bump_generation(Connection &c, const std::string &name)
{
    before_binary_increment(c, name);
    for (int round = 0; round < kMaxCasRounds; round++) {
        uint64_t value = 0;
        memcached_return_t rc = memcached_increment(c.mc, name.data(), name.size(), 1, &value);
        if (rc == MEMCACHED_SUCCESS && value != 0)
            return value;
        if (rc == MEMCACHED_NOTFOUND) {
            uint64_t start = random_counter();
            std::string text = std::to_string(start);
            rc = memcached_add(c.mc, name.data(), name.size(), text.data(), text.size(), 0, 0);
            if (rc == MEMCACHED_SUCCESS)
                return start;
        }
        if (memcached_is_error(rc))
            fail_call(c, rc, "increment of the prefix generation");
    }
    fail(CACHE_EIO, "the memcached prefix generation '" + name + "' kept disappearing");
}

// ----------------------------------------------------------------- reading

bool MemcachedBackend::read(Connection &c, Item *out)
{
    uint32_t flags = 0;
    Bytes item;
    if (!fetch(c, &flags, &item))
        return false;
    out->flags = flags;
    out->cas = 0;
    out->env = Envelope::decode(flags, item);
    return true;
}

bool MemcachedBackend::fetch(Connection &c, uint32_t *flags, Bytes *item)
{
    TextGetSocket *fast = opts_.fast_get ? &c.sockets[c.server] : nullptr;
    if (fast && fast->turn()) {
        const memcached_instance_st *server = memcached_server_instance_by_position(c.mc, c.server);
        int64_t deadline = c.deadline_ns.load(std::memory_order_relaxed);
        switch (fast->get(server, c.key, deadline, opts_.spin_us * 1000, flags, item)) {
        case TextGetSocket::kHit:
            server_health::answered(c.mc, c.server);
            return true;
        case TextGetSocket::kMiss:
            server_health::answered(c.mc, c.server);
            return false;
        case TextGetSocket::kTimedOut:
            // The call's time is up: asking libmemcached would wait again.
            fail(CACHE_ETIMEOUT, "memcached get failed: A TIMEOUT OCCURRED (the call did not "
                                 "complete within timeout_ms=" +
                                     std::to_string(opts_.timeout_ms) +
                                     "), host: " + host_port(server));
        case TextGetSocket::kFailed:
            break; // libmemcached says what is wrong, if anything
        }
    }
    // memcached_get, not a one-key mget: with the binary protocol it sends
    // one non-quiet GETK instead of GETKQ + NOOP.
    std::free(c.value);
    size_t len = 0;
    memcached_return_t rc;
    c.value = memcached_get(c.mc, c.key.data(), c.key.size(), &len, flags, &rc);
    if (!c.value && rc != MEMCACHED_SUCCESS) { // (an empty value is NULL + SUCCESS)
        // A timeout while reading is reported as NOTFOUND; the error recorded
        // on the handle tells the truth.
        if (rc == MEMCACHED_NOTFOUND && memcached_is_error(memcached_last_error(c.mc)))
            rc = memcached_last_error(c.mc);
        if (rc != MEMCACHED_NOTFOUND)
            fail_call(c, rc, "get");
        if (fast)
            fast->server_answered();
        server_health::answered(c.mc, c.server);
        return false;
    }
    if (fast)
        fast->server_answered();
    server_health::answered(c.mc, c.server);
    *item = Bytes(c.value ? c.value : "", len);
    return true;
}

bool MemcachedBackend::read_cas(Connection &c, Item *out)
{
    const char *p = c.key.data();
    size_t len = c.key.size();
    // "gets" only here: every other read uses "get", which the server
    // answers without the CAS value (one number less to parse per item).
    memcached_behavior_set(c.mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_return_t rc = memcached_mget(c.mc, &p, &len, 1);
    memcached_behavior_set(c.mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
    memcached_return_t frc = MEMCACHED_SUCCESS;
    if (rc != MEMCACHED_SUCCESS) {
        while (memcached_fetch_result(c.mc, &c.scratch, &frc)) {
        }
        fail_call(c, rc, "gets");
    }
    memcached_result_st *r = memcached_fetch_result(c.mc, &c.result, &frc);
    if (!r) {
        if (memcached_is_error(frc))
            fail_call(c, frc, "gets");
        if (memcached_is_error(memcached_last_error(c.mc)))
            fail_call(c, memcached_last_error(c.mc), "gets");
        return false;
    }
    // Read the end of the reply into scratch: reading it into c.result would
    // reset the item just read.
    while (memcached_fetch_result(c.mc, &c.scratch, &frc)) {
    }
    out->flags = memcached_result_flags(r);
    out->cas = memcached_result_cas(r);
    out->env = Envelope::decode(out->flags, value_of(r));
    return true;
}

bool MemcachedBackend::is_live(Connection &c, const Item &item, Bytes full_key)
{
    if (c.hashed && item.env.key != full_key)
        return false;
    if (item.env.generation != c.generation)
        return false; // written before the last clear()
    if (item.env.expiry_ms && wall_ms() >= item.env.expiry_ms)
        return false;
    return item.env.tags.empty() || tags_current(c, item.env.tags);
}

bool MemcachedBackend::tags_current(Connection &c, Bytes tags)
{
    std::vector<const char *> names;
    std::vector<size_t> lens;
    std::vector<uint64_t> versions;
    TagCursor cursor(tags);
    Bytes name;
    uint64_t version;
    while (cursor.next(&name, &version)) {
        names.push_back(name.data());
        lens.push_back(name.size());
        versions.push_back(version);
    }
    std::vector<char> current(names.size(), 0);
    multi_get(c, names.data(), lens.data(), names.size(), &c.scratch, "read of tag versions",
              [&](memcached_result_st *r) {
                  Bytes got(memcached_result_key_value(r), memcached_result_key_length(r));
                  uint64_t v;
                  bool ok = parse_u64(value_of(r), &v);
                  for (size_t i = 0; i < names.size(); i++)
                      if (Bytes(names[i], lens[i]) == got)
                          current[i] = ok && v == versions[i];
              });
    return std::all_of(current.begin(), current.end(), [](char x) { return x != 0; });
}

bool MemcachedBackend::read_live(Connection &c, Bytes full_key, Item *item)
{
    name_entry(c, full_key);
    return read(c, item) && is_live(c, *item, full_key);
}

bool MemcachedBackend::get(Bytes key, OwnedBuffer *out)
{
    ConnectionPool::Lease c = pool().acquire();
    Item item;
    if (!read_live(*c, key, &item))
        return false;
    out->assign(item.env.value);
    return true;
}

bool MemcachedBackend::exists(Bytes key)
{
    ConnectionPool::Lease c = pool().acquire();
    Item item;
    return read_live(*c, key, &item);
}

bool MemcachedBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    ConnectionPool::Lease c = pool().acquire();
    Item item;
    if (!read_live(*c, key, &item))
        return false;
    *remaining_ms =
        item.env.expiry_ms ? std::max<int64_t>(ms_until(item.env.expiry_ms, wall_ms()), 1) : -1;
    return true;
}

void MemcachedBackend::read_batch(Connection &c, const Bytes *keys, size_t n, OwnedBuffer *values)
{
    EntryBatch &batch = c.batch;
    batch.reset(n);
    int64_t now = monotonic_ms();
    uint32_t server = UINT32_MAX;
    Bytes space;
    uint64_t gen = 0;
    for (size_t i = 0; i < n; i++) {
        // A verbatim name is the caller's key itself: nothing is copied.
        Bytes name = keys[i];
        size_t start = batch.digests()->size();
        bool verbatim = item_keys::is_verbatim(name);
        if (!verbatim) {
            item_keys::append_digest_name(keys[i], batch.digests());
            name = Bytes(*batch.digests()).substr(start);
        }
        uint32_t s = server_of(c, name);
        Bytes sp = namespaces_ ? space_of(keys[i]) : Bytes();
        if (s != server || sp != space) { // a batch rarely spans more than one or two
            server = s;
            space = sp;
            gen = generation_of(c, s, keys[i], now);
        }
        if (verbatim)
            batch.name(i, name, gen);
        else
            batch.digest(i, start, gen);
    }
    batch.seal();
    c.states.assign(n, kAbsent);
    int64_t wall = 0; // read once, and only if some entry has a deadline
    std::vector<std::pair<size_t, std::string>> tagged; // (request, raw tag section)
    multi_get(
        c, batch.names(), batch.lengths(), n, &c.result, "multi-get", [&](memcached_result_st *r) {
            size_t i =
                batch.match(Bytes(memcached_result_key_value(r), memcached_result_key_length(r)));
            if (i == EntryBatch::npos)
                return;
            Envelope env = Envelope::decode(memcached_result_flags(r), value_of(r));
            if (env.expiry_ms && !wall)
                wall = wall_ms();
            if (batch.hashed(i) && env.key != keys[i]) {
                c.states[i] = kOtherKey;
            } else if (env.generation != batch.generation(i) ||
                       (env.expiry_ms && wall >= env.expiry_ms)) {
                c.states[i] = kDead;
            } else {
                c.states[i] = kLive;
                if (!env.tags.empty())
                    tagged.emplace_back(i, std::string(env.tags));
                if (values)
                    values[i].assign(env.value);
            }
        });
    for (auto &t : tagged) {
        if (!tags_current(c, t.second)) {
            c.states[t.first] = kDead;
            if (values)
                values[t.first] = OwnedBuffer();
        }
    }
}

void MemcachedBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    if (n == 0)
        return;
    ConnectionPool::Lease c = pool().acquire();
    read_batch(*c, keys, n, values);
    for (size_t i = 0; i < n; i++)
        statuses[i] = c->states[i] == kLive ? CACHE_OK : CACHE_MISS;
}

// ----------------------------------------------------------------- writing

memcached_return_t MemcachedBackend::write(Connection &c, Write mode, uint32_t flags, Bytes value,
                                           time_t exptime, uint64_t cas)
{
    // memcached holds no item over 1 GiB, whatever -I says. Checked before
    // the copy below reads value, so a length no buffer has is never read.
    if (value.size() > kMaxItemCeiling - c.header.size())
        fail_too_big(c, value.size(), c.header.size() + value.size());
    // One buffer: memcached takes an item in one piece.
    c.item.assign(c.header);
    c.item.append(value.data(), value.size());
    Bytes item = c.item;
    int64_t limit = item_limit_.load(std::memory_order_relaxed);
    if (limit > 0 && item.size() + c.key.size() > uint64_t(limit))
        fail_too_big(c, value.size(), item.size());
    memcached_return_t rc;
    const char *what;
    switch (mode) {
    case Write::set:
        what = "set";
        rc = memcached_set(c.mc, c.key.data(), c.key.size(), item.data(), item.size(), exptime,
                           flags);
        break;
    case Write::add:
        what = "add";
        rc = memcached_add(c.mc, c.key.data(), c.key.size(), item.data(), item.size(), exptime,
                           flags);
        break;
    default:
        what = "cas";
        rc = memcached_cas(c.mc, c.key.data(), c.key.size(), item.data(), item.size(), exptime,
                           flags, cas);
        break;
    }
    // Keep small scratch space for the next call, not the largest item ever.
    if (c.item.capacity() > kKeptScratch)
        std::string().swap(c.item);
    if (rc == MEMCACHED_E2BIG)
        fail_too_big(c, value.size(), item.size());
    if (memcached_is_error(rc))
        fail_call(c, rc, what);
    server_health::answered(c.mc, c.server);
    return rc;
}

void MemcachedBackend::store_new(Connection &c, Bytes full_key, Bytes value, int64_t ttl_ms,
                                 Bytes tags)
{
    int64_t deadline = ttl_ms > 0 ? deadline_after(wall_ms(), ttl_ms) : 0;
    uint32_t flags =
        Envelope::encode(c.generation, deadline, c.hashed ? full_key : Bytes(), tags, &c.header);
    memcached_return_t rc =
        write(c, Write::set, flags, value, deadline ? exptime_until(deadline) : 0, 0);
    if (rc != MEMCACHED_SUCCESS)
        fail_call(c, rc, "set");
}

void MemcachedBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    store_new(*c, key, value, ttl_ms, Bytes());
}

void MemcachedBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    ConnectionPool::Lease c = pool().acquire();
    for (size_t i = 0; i < n; i++) {
        name_entry(*c, keys[i]);
        store_new(*c, keys[i], values[i], ttl_ms, Bytes());
    }
}

bool MemcachedBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    int64_t deadline = ttl_ms > 0 ? deadline_after(wall_ms(), ttl_ms) : 0;
    time_t exptime = deadline ? exptime_until(deadline) : 0;
    uint32_t flags =
        Envelope::encode(c->generation, deadline, c->hashed ? key : Bytes(), Bytes(), &c->header);
    for (int round = 0; round < kMaxCasRounds; round++) {
        if (write(*c, Write::add, flags, value, exptime, 0) == MEMCACHED_SUCCESS)
            return true;
        // memcached holds an item under this name; it only blocks the add
        // while it is this key's live entry.
        Item item;
        if (!read_cas(*c, &item))
            continue;
        if (is_live(*c, item, key))
            return false;
        if (write(*c, Write::cas, flags, value, exptime, item.cas) == MEMCACHED_SUCCESS)
            return true;
    }
    fail(CACHE_EIO, "memcached add gave up after " + std::to_string(kMaxCasRounds) +
                        " conflicting writes to the same key");
}

int64_t MemcachedBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    char digits[24];
    for (int round = 0; round < kMaxCasRounds; round++) {
        Item item;
        bool found = read_cas(*c, &item);
        if (found && is_live(*c, item, key)) {
            int64_t next = add_counter(parse_counter(item.env.value), delta);
            Bytes text(digits, format_counter(next, digits));
            // Same header: the entry keeps its deadline, key and tags.
            c->header.assign(item.env.header.data(), item.env.header.size());
            time_t exptime = item.env.expiry_ms ? exptime_until(item.env.expiry_ms) : 0;
            if (write(*c, Write::cas, item.flags, text, exptime, item.cas) == MEMCACHED_SUCCESS)
                return next;
            continue;
        }
        int64_t next = delta;
        Bytes text(digits, format_counter(next, digits));
        int64_t deadline = ttl_ms_if_new > 0 ? deadline_after(wall_ms(), ttl_ms_if_new) : 0;
        uint32_t flags = Envelope::encode(c->generation, deadline, c->hashed ? key : Bytes(),
                                          Bytes(), &c->header);
        time_t exptime = deadline ? exptime_until(deadline) : 0;
        Write mode = found ? Write::cas : Write::add; // replace a dead entry in place
        if (write(*c, mode, flags, text, exptime, found ? item.cas : 0) == MEMCACHED_SUCCESS)
            return next;
    }
    fail(CACHE_EIO, "memcached incr gave up after " + std::to_string(kMaxCasRounds) +
                        " conflicting writes to the same key");
}

// gets + cas as incr, without the create branch: a missing, expired or
// stale-generation item is a miss and nothing is written.
bool MemcachedBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    char digits[24];
    for (int round = 0; round < kMaxCasRounds; round++) {
        Item item;
        if (!read_cas(*c, &item) || !is_live(*c, item, key))
            return false;
        int64_t next = add_counter(parse_counter(item.env.value), delta);
        Bytes text(digits, format_counter(next, digits));
        c->header.assign(item.env.header.data(), item.env.header.size());
        time_t exptime = item.env.expiry_ms ? exptime_until(item.env.expiry_ms) : 0;
        if (write(*c, Write::cas, item.flags, text, exptime, item.cas) == MEMCACHED_SUCCESS) {
            *result = next;
            return true;
        }
    }
    fail(CACHE_EIO, "memcached incr gave up after " + std::to_string(kMaxCasRounds) +
                        " conflicting writes to the same key");
}

bool MemcachedBackend::touch(Bytes key, int64_t ttl_ms)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    for (int round = 0; round < kMaxCasRounds; round++) {
        Item item;
        if (!read_cas(*c, &item) || !is_live(*c, item, key))
            return false;
        // The deadline lives in the item, so touching rewrites it.
        int64_t deadline = ttl_ms > 0 ? deadline_after(wall_ms(), ttl_ms) : 0;
        uint32_t flags =
            Envelope::encode(c->generation, deadline, item.env.key, item.env.tags, &c->header);
        time_t exptime = deadline ? exptime_until(deadline) : 0;
        if (write(*c, Write::cas, flags, item.env.value, exptime, item.cas) == MEMCACHED_SUCCESS)
            return true;
    }
    fail(CACHE_EIO, "memcached touch gave up after " + std::to_string(kMaxCasRounds) +
                        " conflicting writes to the same key");
}

bool MemcachedBackend::del(Bytes key)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    Item item;
    if (!read(*c, &item))
        return false;
    if (c->hashed && item.env.key != key)
        return false; // another key's entry shares the digest: not ours to delete
    bool live = is_live(*c, item, key);
    memcached_return_t rc = memcached_delete(c->mc, c->key.data(), c->key.size(), 0);
    if (memcached_is_error(rc))
        fail_call(*c, rc, "delete");
    return live && rc == MEMCACHED_SUCCESS;
}

size_t MemcachedBackend::del_many(const Bytes *keys, size_t n)
{
    if (n == 0)
        return 0;
    ConnectionPool::Lease c = pool().acquire();
    read_batch(*c, keys, n, nullptr);
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->states[i] == kAbsent || c->states[i] == kOtherKey)
            continue;
        Bytes name = c->batch.name(i);
        memcached_return_t rc = memcached_delete(c->mc, name.data(), name.size(), 0);
        if (memcached_is_error(rc))
            fail_call(*c, rc, "delete");
        if (rc == MEMCACHED_SUCCESS && c->states[i] == kLive)
            removed++;
    }
    return removed;
}

void MemcachedBackend::fail_too_big(Connection &c, size_t value_size, size_t item_size)
{
    int64_t limit = 0;
    try {
        limit = item_size_limit(c);
    } catch (const Error &) {
        // The message below still says what happened.
    }
    std::string msg =
        "value of " + std::to_string(value_size) + " bytes does not fit in one memcached item: ";
    msg += limit > 0 ? "the server's item size limit is " + std::to_string(limit) + " bytes"
                     : "the server refused it as larger than its item size limit";
    msg += " (memcached -I), and an item also holds its " + std::to_string(c.key.size()) +
           "-byte name, " + std::to_string(item_size - value_size) +
           " bytes of unicache metadata and about 50 bytes of server bookkeeping";
    fail(CACHE_ETOOBIG, msg);
}

int64_t MemcachedBackend::item_size_limit(Connection &c)
{
    int64_t known = item_limit_.load(std::memory_order_relaxed);
    if (known > 0)
        return known;
    int64_t smallest = 0;
    auto on_stat = [](const memcached_instance_st *, const char *key, size_t key_len,
                      const char *value, size_t value_len, void *ctx) -> memcached_return_t {
        if (Bytes(key, key_len) == "item_size_max") {
            int64_t v = std::atoll(std::string(value, value_len).c_str());
            int64_t &s = *static_cast<int64_t *>(ctx);
            if (v > 0 && (s == 0 || v < s))
                s = v;
        }
        return MEMCACHED_SUCCESS;
    };
    memcached_stat_execute(c.mc, "settings", on_stat, &smallest);
    if (smallest > 0)
        item_limit_.store(smallest, std::memory_order_relaxed);
    return smallest;
}

// -------------------------------------------------------------------- tags

std::vector<uint64_t> MemcachedBackend::tag_versions(Connection &c,
                                                     const std::vector<std::string> &names)
{
    std::vector<uint64_t> versions(names.size(), 0);
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (const auto &s : names) {
        ptrs.push_back(s.data());
        lens.push_back(s.size());
    }
    multi_get(c, ptrs.data(), lens.data(), names.size(), &c.scratch, "read of tag versions",
              [&](memcached_result_st *r) {
                  Bytes got(memcached_result_key_value(r), memcached_result_key_length(r));
                  uint64_t v = 0;
                  if (!parse_u64(value_of(r), &v) || v == 0)
                      fail(CACHE_ECORRUPT, "the memcached item '" + std::string(got) +
                                               "' (a unicache tag version) does not hold a "
                                               "positive decimal number");
                  for (size_t i = 0; i < names.size(); i++)
                      if (names[i] == got)
                          versions[i] = v;
              });
    for (size_t i = 0; i < names.size(); i++) {
        for (int round = 0; versions[i] == 0; round++) {
            if (round == kMaxCasRounds)
                fail(CACHE_EIO, "the memcached tag version '" + names[i] + "' kept disappearing");
            uint64_t start = random_counter();
            std::string text = std::to_string(start);
            memcached_return_t rc =
                memcached_add(c.mc, ptrs[i], lens[i], text.data(), text.size(), 0, 0);
            if (rc == MEMCACHED_SUCCESS) {
                versions[i] = start;
                break;
            }
            if (memcached_is_error(rc))
                fail_call(c, rc, "creation of a tag version");
            // Someone else created it first: read theirs.
            multi_get(c, &ptrs[i], &lens[i], 1, &c.scratch, "read of tag versions",
                      [&](memcached_result_st *r) { parse_u64(value_of(r), &versions[i]); });
        }
    }
    return versions;
}

std::string MemcachedBackend::tag_section(Connection &c, const Bytes *tags, size_t ntags)
{
    std::vector<std::string> names;
    for (size_t i = 0; i < ntags; i++)
        names.push_back(item_keys::tag_key(tags[i]));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string section;
    if (!names.empty()) {
        // Versions first, entry second: an invalidation in between leaves an
        // entry that records the old version, which reads as a miss.
        std::vector<uint64_t> versions = tag_versions(c, names);
        for (size_t i = 0; i < names.size(); i++)
            append_tag(names[i], versions[i], &section);
    }
    return section;
}

void MemcachedBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                                  size_t ntags)
{
    ConnectionPool::Lease c = pool().acquire();
    std::string section = tag_section(*c, tags, ntags);
    name_entry(*c, key);
    store_new(*c, key, value, ttl_ms, section);
}

size_t MemcachedBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    ConnectionPool::Lease c = pool().acquire();
    for (size_t i = 0; i < n; i++) {
        std::string name = item_keys::tag_key(tags[i]);
        before_binary_increment(*c, name);
        uint64_t value;
        memcached_return_t rc = memcached_increment(c->mc, name.data(), name.size(), 1, &value);
        // NOTFOUND: no entry can be valid under a tag without a version.
        if (memcached_is_error(rc))
            fail_call(*c, rc, "increment of a tag version");
    }
    return 0; // entries are dropped lazily, on read
}

// --------------------------------------------------------------- whole set

void MemcachedBackend::clear(Bytes)
{
    ConnectionPool::Lease c = pool().acquire();
    std::string missed;
    int status = CACHE_OK;
    GenerationTable &table = *generations_;
    for (uint32_t s = 0; s < opts_.hosts.size(); s++) {
        try {
            // A namespace's counter under the root's generation as the
            // server has it now: under a stale one, the handles that have
            // seen a newer root would not see this clear.
            uint64_t root = 0;
            if (table.kind() == GenerationTable::Kind::space) {
                root = read_generation(*c, counter_name(*c, s, *root_, 0));
                GenerationTable::Slot &top = root_->slot(s);
                top.value.store(root, std::memory_order_release);
                top.checked_ms.store(monotonic_ms(), std::memory_order_relaxed);
            }
            uint64_t next = bump_generation(*c, counter_name(*c, s, table, root));
            GenerationTable::Slot &slot = table.slot(s);
            slot.value.store(next, std::memory_order_release);
            slot.root.store(root, std::memory_order_release);
            slot.checked_ms.store(monotonic_ms(), std::memory_order_relaxed);
        } catch (const Error &e) {
            missed += missed.empty() ? "" : "; ";
            missed += e.what();
            status = e.status();
        }
    }
    if (!missed.empty())
        fail(status, "clear could not reach every memcached server, so entries of this prefix "
                     "stored there were not cleared and may reappear when it returns: " +
                         missed);
}

void MemcachedBackend::keys(const GlobPattern &, size_t, std::vector<std::string> *)
{
    fail(CACHE_ENOTSUP, "the memcached backend cannot list keys: memcached has no command that "
                        "enumerates keys. Group entries with tags (cache_invalidate_tags) or "
                        "drop the whole prefix with cache_clear");
}

size_t MemcachedBackend::delete_pattern(const GlobPattern &)
{
    fail(CACHE_ENOTSUP, "the memcached backend cannot delete keys by pattern: memcached has no "
                        "command that enumerates keys. Group entries with tags "
                        "(cache_invalidate_tags) or drop the whole prefix with cache_clear");
}

// ------------------------------------------------------------- management

void MemcachedBackend::ping()
{
    // One round trip to every server: a read of each server's generation
    // counter of this prefix, in one multi-get. Not memcached_version(),
    // which asks only servers whose version it does not know yet, so it
    // answered OK for a server that had stopped answering.
    ConnectionPool::Lease c = pool().acquire();
    std::vector<std::string> names;
    for (uint32_t s = 0; s < opts_.hosts.size(); s++)
        names.push_back(counter_name(*c, s, namespaces_ ? *root_ : *generations_, 0));
    for (const std::string &n : names) // a SASL server's refusal is an error there
        before_binary_increment(*c, n);
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (const std::string &n : names) {
        ptrs.push_back(n.data());
        lens.push_back(n.size());
    }
    multi_get(*c, ptrs.data(), lens.data(), names.size(), &c->scratch, "ping",
              [](memcached_result_st *) {});
}

std::string MemcachedBackend::info()
{
    ConnectionPool::Lease c = pool().acquire();
    std::string text =
        "memcached backend: servers=" + servers_ +
        " protocol=" + (opts_.binary ? "binary" : "text") +
        " distribution=" + (opts_.hosts.size() > 1 ? "ketama" : "none (one server)") +
        " timeout_ms=" + std::to_string(opts_.timeout_ms) +
        " pool_size=" + std::to_string(opts_.pool_size) +
        " retry_timeout_s=" + std::to_string(opts_.retry_timeout_s) +
        " remove_failed_servers=" + (opts_.remove_failed_servers ? "true" : "false") +
        " generation_cache_ms=" + std::to_string(opts_.generation_cache_ms) +
        " fast_get=" + (opts_.fast_get ? "true" : "false") +
        " spin_us=" + std::to_string(opts_.spin_us) + "\n";
    if (opts_.fast_get)
        text += fast_get_counts();
    struct Collect {
        std::string *text;
        std::string last;
    } collect{&text, ""};
    auto on_stat = [](const memcached_instance_st *server, const char *key, size_t key_len,
                      const char *value, size_t value_len, void *ctx) -> memcached_return_t {
        Collect &col = *static_cast<Collect *>(ctx);
        std::string where = host_port(server);
        if (where != col.last) {
            *col.text += "[" + where + "]\n";
            col.last = where;
        }
        col.text->append(key, key_len);
        col.text->push_back(' ');
        col.text->append(value, value_len);
        col.text->push_back('\n');
        return MEMCACHED_SUCCESS;
    };
    memcached_return_t rc = memcached_stat_execute(c->mc, nullptr, on_stat, &collect);
    if (rc != MEMCACHED_SUCCESS) {
        if (collect.last.empty())
            fail_call(*c, rc, "stats");
        text += "(some servers did not answer: " + memcached_detail(c->mc, rc) + ")\n";
    }
    return text;
}

std::string MemcachedBackend::fast_get_counts() const
{
    uint64_t served = 0, spun = 0, failed = 0, timed_out = 0;
    for (size_t i = 0; i < pool().size(); i++) {
        for (size_t s = 0; s < opts_.hosts.size(); s++) {
            const TextGetSocket::Counters &n = pool().at(i).sockets[s].counters();
            served += n.served.load(std::memory_order_relaxed);
            spun += n.spun.load(std::memory_order_relaxed);
            failed += n.failed.load(std::memory_order_relaxed);
            timed_out += n.timed_out.load(std::memory_order_relaxed);
        }
    }
    return "fast_get: served=" + std::to_string(served) + " spun=" + std::to_string(spun) +
           " fell_back=" + std::to_string(failed) + " timed_out=" + std::to_string(timed_out) +
           "\n";
}

BackendStats MemcachedBackend::stats(Bytes)
{
    // memcached cannot count the entries of one prefix; size and
    // memory_bytes stay "cannot tell". Server-wide figures are in info().
    return BackendStats();
}

// ----------------------------------------------------------------- factory

std::unique_ptr<Backend> make_memcached_backend(Config &config)
{
    if (config.has_password != !config.user.empty())
        fail(CACHE_EINVAL, "memcached:// takes a user name and a password together "
                           "(memcached://user:password@host): '" +
                               config.display + "'");
    if (config.hosts.empty())
        fail(CACHE_EINVAL, "memcached:// needs at least one server, e.g. "
                           "memcached://127.0.0.1:11211 (got '" +
                               config.display + "')");
    if (!config.path.empty() && config.path != "/")
        fail(CACHE_EINVAL, "memcached:// takes no path, only host[:port][,host[:port]...] and "
                           "parameters (got '" +
                               config.display + "')");
    MemcachedOptions o;
    for (const HostPort &h : config.hosts) {
        int port = h.port ? h.port : kDefaultPort;
        for (const HostPort &seen : o.hosts)
            if (seen.host == h.host && seen.port == port)
                fail(CACHE_EINVAL, "memcached server " + h.host + ":" + std::to_string(port) +
                                       " is listed twice in '" + config.display + "'");
        o.hosts.push_back(HostPort{h.host, port});
    }
    Params &p = config.params;
    o.binary = p.take_bool("binary", false);
    o.timeout_ms = p.take_int("timeout_ms", 1000, 1, 600000);
    o.pool_size = size_t(p.take_int("pool_size", 8, 1, 1024));
    o.retry_timeout_s = p.take_int("retry_timeout_s", 2, 0, 3600);
    o.remove_failed_servers = p.take_bool("remove_failed_servers", false);
    o.generation_cache_ms = p.take_int("generation_cache_ms", 1000, 0, 3600 * 1000);
    o.user = config.user;
    o.password = config.password;
    o.fast_get = p.take_bool("fast_get", !o.binary && o.user.empty());
    if (o.fast_get && o.binary)
        fail(CACHE_EINVAL, "memcached fast_get=true sends text-protocol gets and cannot be "
                           "combined with binary=true (fast_get is off by default there)");
    if (o.fast_get && !o.user.empty())
        fail(CACHE_EINVAL, "memcached fast_get=true does not log in, so it cannot be combined "
                           "with a user name and password (fast_get is off by default there)");
    o.spin_us = p.take_int("spin_us", 50, 0, 1000);
    o.prefix = config.prefix;
    o.raw_prefix = config.raw_prefix;
    config.params.finish(config.scheme); // every parameter checked before connecting
    return std::make_unique<MemcachedBackend>(o);
}

} // namespace unicache
