// MemcachedBackend: one or more memcached servers through libmemcached, with
// ketama consistent hashing, honouring the whole contract. What memcached
// cannot do natively is built from what it can (see the README section):
//
//  - unsafe or long keys: a SHA-256 name, the full key kept in the item and
//    compared on read (item_keys.h, envelope.h);
//  - clear(): a generation per namespace (prefix_mode=raw: per prefix) and
//    server that every entry records; clear() moves it on, older entries
//    read as absent until overwritten or aged out. An entry belongs to the
//    namespace before the first '|' of its full key, whichever handle
//    reads it, and a namespace's counter is named under the root's
//    generation, so a clear without a prefix ends every namespace;
//  - tags: a version counter per tag; an entry records the versions it was
//    written under and is a miss once any has moved;
//  - signed counters, add() over an expired entry, touch(): gets + cas;
//  - ttl(): the absolute deadline kept in the item, memcached's own expiry
//    rounded up so that it never drops an entry early.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection_pool.h"
#include "core/backend.h"
#include "core/per_process.h"
#include "envelope.h"
#include "generation_table.h"

namespace unicache {

struct MemcachedOptions {
    std::vector<HostPort> hosts;        // port 0: 11211
    bool binary = false;                // binary protocol instead of text
    int64_t timeout_ms = 1000;          // connect and per-reply limit
    size_t pool_size = 8;               // connections per server
    int64_t retry_timeout_s = 2;        // a failed server is skipped this long
    bool remove_failed_servers = false; // rehash a dead server's keys to others
    int64_t generation_cache_ms = 1000; // how long a prefix generation is trusted
    bool fast_get = true;               // single-key reads over our own sockets (text_get_socket.h)
    int64_t spin_us = 50;               // longest spin for a reply there; 0: never spin
    std::string prefix;                 // this cache's key head (Config::prefix)
    bool raw_prefix = false;            // prefix_mode=raw: a generation per prefix
    std::string user, password;         // login (text: memcached -Y; binary: SASL PLAIN)
};

class MemcachedBackend final : public Backend {
public:
    explicit MemcachedBackend(const MemcachedOptions &opts);

    const char *name() const override { return "memcached"; }
    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool del(Bytes key) override;
    bool exists(Bytes key) override;
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override;
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override;
    bool touch(Bytes key, int64_t ttl_ms) override;
    bool ttl(Bytes key, int64_t *remaining_ms) override;
    void clear(Bytes prefix) override;
    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override;
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override;
    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;
    // Leases with memcached's own meta commands (memcached_leases.cpp).
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;
    void ping() override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;

private:
    // One meta-command response (memcached_leases.cpp).
    struct MetaReply {
        std::string code; // "VA", "HD", "EN", "NS", "EX", "NF", "MN", or an error line
        uint32_t flags = 0;
        uint64_t cas = 0;
        bool win = false; // W: this caller won the right to fill the item
        std::string data; // VA's data block
    };
    // Sends request (meta commands) to server over c's own socket and
    // parses `replies` responses. Throws CACHE_EUNAVAILABLE/ETIMEOUT, or
    // CACHE_EIO for a response it does not expect.
    std::vector<MetaReply> meta(Connection &c, uint32_t server, const std::string &request,
                                size_t replies, const char *what);
    // Logs a new lease socket in (memcached -Y) when the server asks for it.
    void log_in_socket(Connection &c, uint32_t server, int64_t deadline);
    // CACHE_EAUTH for a refusal on a lease socket: names the user, never the password.
    [[noreturn]] void refused(Connection &c, uint32_t server, const char *what,
                              const std::string &line);
    // The name of full_key's lease item ('l') or compute-time item ('c').
    std::string side_name(Connection &c, Bytes full_key, char kind) const;
    bool take_item_lease(Connection &c, Bytes full_key, uint64_t token, int64_t lease_s);
    // The envelope's tag section for tags (reads or creates their versions).
    std::string tag_section(Connection &c, const Bytes *tags, size_t ntags);

public:
    // What a "~c" item says about the value a fill wrote (memcached_leases.cpp).
    struct FillMeta {
        uint64_t compute_ms = 0, stale_until = 0, expiry_ms = 0;
    };

private:
    // Reads key's "~c" item: false when absent, unreadable, or written for
    // another item than the one whose envelope expires at expiry_ms.
    bool fill_meta(Connection &c, Bytes full_key, int64_t expiry_ms, FillMeta *out);
    // A refresher keeps key's stale copy (item and "~c") until `until`.
    void extend_stale(Connection &c, Bytes full_key, const FillMeta &fm, int64_t until);
    // An item as read; the views point into the connection's result.
    struct Item {
        Envelope env;
        uint32_t flags = 0;
        uint64_t cas = 0;
    };
    enum class Write { set, add, cas };
    enum State : unsigned char { kAbsent, kOtherKey, kDead, kLive };

    // A new libmemcached handle with every setting applied.
    memcached_st *connect() const;
    // Text protocol with a login: logs in every connection of c that has
    // not yet (memcached -Y ascii authentication).
    void log_in(Connection &c);
    // Names full_key's entry in c.key (c.hashed: by digest) and finds the
    // prefix generation it must carry (c.generation).
    void name_entry(Connection &c, Bytes full_key);
    uint32_t server_of(Connection &c, Bytes name);
    unsigned anchor_for(Connection &c, uint32_t server);
    // The generation full_key's entry must carry on server.
    uint64_t generation_of(Connection &c, uint32_t server, Bytes full_key, int64_t now);
    // The namespace full_key belongs to: the bytes before its first '|'
    // ("" for the root's own keys). Namespace mode only.
    static Bytes space_of(Bytes full_key);
    // The table of a namespace other than this handle's (a root handle
    // reading "a|x"), shared with the handles of that namespace.
    std::shared_ptr<GenerationTable> space_table(Bytes space);
    uint64_t generation(Connection &c, uint32_t server, int64_t now, GenerationTable &table);
    // The name of table's counter on server (a namespace's: under root).
    std::string counter_name(Connection &c, uint32_t server, const GenerationTable &table,
                             uint64_t root);
    uint64_t read_generation(Connection &c, const std::string &name);
    uint64_t bump_generation(Connection &c, const std::string &name);
    void before_binary_increment(Connection &c, const std::string &name);

    // Reads the item named c.key (on server c.server); false when memcached
    // has none. read() is the plain get; read_cas() also fetches the CAS
    // value for an update.
    bool read(Connection &c, Item *out);
    // read()'s round trip: the item's flags and bytes (valid until the next
    // call on c), through c's own socket when it may be tried, else (and
    // whenever that fails) through libmemcached.
    bool fetch(Connection &c, uint32_t *flags, Bytes *item);
    bool read_cas(Connection &c, Item *out);
    // Names, reads and checks full_key's entry: false unless it is live.
    bool read_live(Connection &c, Bytes full_key, Item *item);
    // Whether a fetched item is the live entry of full_key, named in c.
    bool is_live(Connection &c, const Item &item, Bytes full_key);
    // Whether every (tag, version) in a raw tag section is still current.
    bool tags_current(Connection &c, Bytes tags);
    // Versions of the named tag counters, creating missing ones.
    std::vector<uint64_t> tag_versions(Connection &c, const std::vector<std::string> &names);
    // One multi-get for n keys: c.batch holds their names, c.states what
    // was found; values (may be NULL) receives the live ones.
    void read_batch(Connection &c, const Bytes *keys, size_t n, OwnedBuffer *values);

    // Stores c.header + value under c.key. Returns SUCCESS or the answer
    // that means "not stored" (NOTSTORED, DATA_EXISTS, NOTFOUND); throws on
    // errors, CACHE_ETOOBIG with the server's item limit included.
    memcached_return_t write(Connection &c, Write mode, uint32_t flags, Bytes value, time_t exptime,
                             uint64_t cas);
    void store_new(Connection &c, Bytes full_key, Bytes value, int64_t ttl_ms, Bytes tags);
    // One line of info(): what the fast-get sockets of every connection did.
    std::string fast_get_counts() const;
    [[noreturn]] void fail_too_big(Connection &c, size_t value_size, size_t item_size);
    int64_t item_size_limit(Connection &c);

    MemcachedOptions opts_;
    std::string servers_; // "host:port,host:port" for messages and info()
    // This process's connections: a forked child gets its own (PerProcess).
    ConnectionPool &pool() const { return pool_->get(); }
    std::unique_ptr<PerProcess<ConnectionPool>> pool_;
    bool namespaces_;                              // !opts_.raw_prefix
    std::shared_ptr<GenerationTable> generations_; // this handle's prefix or namespace
    std::shared_ptr<GenerationTable> root_;        // the root's (namespace mode)
    std::mutex spaces_mu_;                         // guards spaces_
    std::unordered_map<std::string, std::shared_ptr<GenerationTable>> spaces_;
    std::atomic<int64_t> item_limit_{0}; // smallest item_size_max seen; 0: unknown
};

} // namespace unicache
