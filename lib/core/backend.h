// Backend: the one interface every storage engine implements.
//
// The core (cache.h) has already validated arguments, prepended the prefix
// (with its '|' in prefix_mode=namespace: Config::prefix) to every key, tag
// and pattern, and resolved CACHE_TTL_DEFAULT, so a backend
// sees full keys and concrete TTLs: ttl_ms == 0 means "never expires",
// ttl_ms > 0 is a lifetime in milliseconds. Backends report failures by
// throwing unicache::Error with a status and a message that never contains a
// password. Every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bytes.h"
#include "config.h"
#include "glob.h"
#include "stats_part.h"

namespace unicache {

// Counters only the backend knows. -1 means "cannot tell" (JSON null).
struct BackendStats {
    int64_t size = -1;         // entries currently stored under this cache
    int64_t memory_bytes = -1; // bytes they occupy, overhead included
    int64_t evictions = 0;
    int64_t expirations = 0;
};

// What an entry carries besides its value. get_entry returns it with the
// value in the same round trip, so a tier above can copy an entry with its
// remaining lifetime without asking again.
struct EntryMeta {
    int64_t expires_at_ms = 0; // absolute, wall clock (Unix ms); 0: never expires
    uint32_t flags = 0;        // reserved for a codec id (0: plain bytes)
    int64_t created_ms = 0;    // reserved: creation time or compute cost (0: unknown)

    // Lifetime left at now_ms (wall clock): 0 for "never", else >= 1.
    int64_t remaining_ms(int64_t now_ms) const
    {
        if (expires_at_ms == 0)
            return 0;
        return expires_at_ms > now_ms ? expires_at_ms - now_ms : 1;
    }
};

// Coherence: a backend that learns when entries change behind this process's
// back (Redis client tracking, SQLite's data_version) tells a listener, so
// that a tier above it can drop its copies. Called from the backend's own
// threads; a listener must not call back into the backend.
//
// The contract between a watching backend and its listener (the tier):
//  1. Delivery. While notifications are live, every write to a watched key
//     by anyone (another process, redis-cli, this very handle) is followed,
//     within the backend's documented bound, by changed(key) or
//     changed_all(). A notification may be spurious or duplicated; it is
//     never a value, only "drop your copy". Notifications only drop, so
//     their order does not matter (Redis sends a FLUSHDB's ahead of the
//     SETs before it).
//  2. Fills race notifications. A read's reply and the notification of a
//     write that read did not see travel separately (Redis: on two
//     connections), so the notification may be delivered before the read
//     returns. A listener therefore never does "miss, get, put": before the
//     backend read it takes a fill ticket (e.g. reads an epoch, and/or
//     plants a marker for the key); changed(key) kills the tickets for key,
//     changed_all() and notifications_live() kill all tickets; the value
//     read is put in L1 only if its ticket is still alive, checked and put
//     under the same lock that changed() takes. A lost fill is not an
//     error: the read still returns its value, L1 just does not keep it.
//     The same holds for write-through: a tier that copies a value it wrote
//     into L1 takes the ticket before the backend write (the notification
//     of a later write by another process may overtake the reply).
//  3. Liveness. notifications_live(false) means notifications may be lost
//     from now on: L1 must be neither read nor filled until
//     notifications_live(true), and its copies are no longer current. The
//     backend does not flush them itself: the same silence comes with a
//     dead server, when the outage rules may still serve copies (stale),
//     and only the listener knows whether the lowest tier still answers
//     (then a bypassed L1 is as good as an empty one). It calls
//     changed_all() right before live(true): writes made meanwhile were
//     not told. watch_changes() reports the initial state
//     with one notifications_live() call before it returns true; the
//     backend keeps trying to get live by itself (and says so).
//  4. Processes. Notifications are per process: in a forked child the
//     listener treats them as not live (fork_generation() changed, see
//     core/per_process.h) until the child sees notifications_live(true);
//     the backend starts watching in the child on its first call there.
//  5. Calls come from one backend thread at a time, in order; a listener
//     is quick (no I/O, no waiting on other threads' I/O) and never throws.
class ChangeListener {
public:
    virtual ~ChangeListener() = default;
    // key (a full key, prefix included) may have changed or gone.
    virtual void changed(Bytes key) = 0;
    // Anything may have changed: a flush, or notifications that may be lost.
    virtual void changed_all() = 0;
    // live == false: notifications are not arriving (the subscription is
    // down), so copies above must not be trusted until it is true again.
    virtual void notifications_live(bool live) = 0;
};

// Leases (stampede protection, core/stampede.h): what a lease read asks
// for and what it answers. Tokens are made by the core (random, never 0)
// and planted by the backend, which keeps at most one per key.
struct LeaseRequest {
    uint64_t token = 0;       // planted when a lease is granted
    int64_t lease_ttl_ms = 0; // how long it holds before another may take it
    bool want_meta = false;   // on a hit, fill fresh_left_ms and compute_ms
    bool early = false;       // grant on a fresh hit too, unless one is held
    // A stale read that takes the lease keeps the stale copy at least this
    // long from now, so the others keep getting it while this caller
    // recomputes (Rails' race_condition_ttl); 0: as the fill wrote it.
    int64_t stale_extend_ms = 0;
};

enum class LeaseState {
    hit,     // a fresh value
    stale,   // the key expired less than the stale_ttl its fill was written with ago
    granted, // a miss, and request.token now holds the lease
    busy,    // a miss, and another caller holds the lease
};

struct LeaseReply {
    LeaseState state = LeaseState::busy;
    bool granted = false; // granted; or hit/stale and this caller refreshes
    uint64_t token = 0;   // the token granted when not request.token (memcached's
                          // own CAS values); 0: request.token
    OwnedBuffer value;    // hit and stale
    // hit (with want_meta) and stale: what the fill stored; 0 unknown.
    int64_t fresh_left_ms = 0; // ms until the value expires (0: never or unknown)
    int64_t compute_ms = 0;    // how long the fill's compute took
};

// What a lease-checked set stores besides the value.
struct LeaseFill {
    int64_t ttl_ms = 0;          // as set()'s (0: never expires)
    int64_t stale_ttl_ms = 0;    // keep the value this long after expiry
    int64_t compute_ms = 0;      // for early refresh
    bool keep_meta = false;      // keep stale copy/compute time (stale_ttl or early_refresh on)
    const Bytes *tags = nullptr; // attach the entry to these tags, as set_tagged()
    size_t ntags = 0;            // does, in the same atomic step as the lease check
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual const char *name() const = 0;

    virtual void set(Bytes key, Bytes value, int64_t ttl_ms) = 0;
    // Store only when absent or expired; returns true when stored.
    virtual bool add(Bytes key, Bytes value, int64_t ttl_ms) = 0;
    // Returns false on a miss (out untouched).
    virtual bool get(Bytes key, OwnedBuffer *out) = 0;
    // Copies a hit's value into the caller's dst without an allocation of
    // ours. Returns false on a miss (*size untouched). On a hit *size is the
    // value's length, and the value is copied only when it fits capacity
    // (otherwise dst is untouched). A stored value that is a compressed
    // frame is never copied into dst: the copy goes through copy_stored()
    // (core/value_codec.h), which keeps it for Cache and reports kFrameHeld.
    // Default: get() and copy_stored; backends that hold values in memory
    // call copy_stored straight from their own storage.
    virtual bool get_into(Bytes key, void *dst, size_t capacity, size_t *size);
    virtual bool del(Bytes key) = 0;
    virtual bool exists(Bytes key) = 0;
    // Signed 64-bit add on an ASCII decimal value; a missing key starts at 0
    // and gets ttl_ms_if_new. Throws CACHE_ENAN / CACHE_ERANGE.
    virtual int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) = 0;
    // incr that leaves a missing key absent: returns false (result untouched)
    // instead of creating it. The check and the add must be one atomic step
    // (a concurrent delete never resurrects the counter), so there is no
    // default built from exists() + incr(): CACHE_ENOTSUP.
    virtual bool incr_existing(Bytes key, int64_t delta, int64_t *result);
    // New TTL from now (0: never expires). Returns false when absent.
    virtual bool touch(Bytes key, int64_t ttl_ms) = 0;
    // Remaining ms (>= 1) or -1 for "never". Returns false when absent.
    virtual bool ttl(Bytes key, int64_t *remaining_ms) = 0;

    // get() that also returns the entry's metadata. The default asks ttl()
    // afterwards (a second round trip); backends override it to read both at
    // once. Returns false on a miss (out and meta untouched).
    virtual bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta);
    // get_entry for a batch: statuses[i] is CACHE_OK or CACHE_MISS. The
    // default loops over get_entry.
    virtual void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                             int *statuses);
    // set() from metadata: the lifetime is what is left of meta.expires_at_ms
    // (an entry already expired is not stored, and an older copy is removed).
    virtual void set_entry(Bytes key, Bytes value, const EntryMeta &meta);

    // Remove every key that starts with prefix ("" = all of this store).
    virtual void clear(Bytes prefix) = 0;

    // Batches. Defaults loop over the single-key calls; backends override
    // them when they can do one round trip / one transaction.
    virtual void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses);
    virtual void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms);
    virtual size_t del_many(const Bytes *keys, size_t n);

    // Keys matching the pattern (full keys, prefix included), at most limit
    // (0 = all). Default: CACHE_ENOTSUP.
    virtual void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out);
    // Default: keys() then del_many().
    virtual size_t delete_pattern(const GlobPattern &pattern);

    // Tags arrive as tag_scope(prefix) + tag (core/tag_name.h), so that no
    // two prefixes share a tag name. Default: CACHE_ENOTSUP.
    virtual void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                            size_t ntags);
    virtual size_t invalidate_tags(const Bytes *tags, size_t n);

    // Leases: the per-key half of stampede protection; the core
    // (core/stampede.h) waits, elects early refreshes and measures
    // computes above them, once for every backend. Defaults:
    // CACHE_ENOTSUP, except lease_wait, which sleeps.
    //
    // Read key; on a miss grant request.token the lease unless another
    // token holds it (and has not outlived its lease_ttl). A miss with a
    // stale copy (see lease_set) answers stale, and grants too when the
    // lease is free. The check and the grant are one atomic step across
    // every process sharing the store.
    virtual void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply);
    // Store value only while token holds key's lease, and end the lease
    // (a waiter sees the value next). Refused (false, nothing stored) when
    // the lease is gone: the key was deleted (del ends every lease), the
    // lease was taken over after its lease_ttl, or, for a lease granted on
    // a miss, the key was set in between. token 0 stores unconditionally
    // and ends any lease on the key: a cache_set on a handle whose fills
    // keep metadata. With fill.keep_meta, a stale copy and the compute time
    // are kept for fill.ttl_ms + fill.stale_ttl_ms.
    virtual bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill);
    // End token's lease on key if it still holds it; nothing stored.
    virtual void lease_release(Bytes key, uint64_t token);
    // Wait up to wait_ms for key's lease to end (or for less: a caller
    // looks again either way). Default: sleeps wait_ms.
    virtual void lease_wait(Bytes key, int64_t wait_ms);

    // Starts telling listener about changes made by anyone else. listener
    // outlives the backend. Returns false when this backend cannot tell
    // (then a tier above must bound its copies' lifetime instead).
    virtual bool watch_changes(ChangeListener *listener)
    {
        (void)listener;
        return false;
    }

    virtual void ping() {}
    virtual std::string info() { return std::string(name()); }
    // prefix: this cache's prefix, for backends that count per prefix.
    virtual BackendStats stats(Bytes prefix) = 0;
    // What this backend adds to its own part of the statistics document,
    // beyond BackendStats (which write_backend_part() writes for it).
    virtual void add_stats(Bytes prefix, StatsPart &part)
    {
        (void)prefix;
        (void)part;
    }
};

// A backend's part of the statistics document: its name, its BackendStats
// and whatever add_stats() adds.
void write_backend_part(Backend &backend, Bytes prefix, StatsPart &part);

// A backend constructor registered by scheme. Two phases: it takes and
// checks every parameter (config.params.take_*), then calls
// config.params.finish(config.scheme) BEFORE it connects or opens anything,
// so that a misspelt parameter is CACHE_EINVAL at once, never "unavailable"
// after the connection attempts.
using BackendFactory = std::unique_ptr<Backend> (*)(Config &config);

} // namespace unicache
