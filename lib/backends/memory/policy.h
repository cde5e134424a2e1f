// EvictionPolicy: decides which resident entry leaves when a shard is full.
//
// Contract with the shard (memory_shard.cpp):
//  - on_insert: a new entry became resident; on_hit: it was read;
//    on_update: it was overwritten (by default the same as a read);
//    on_miss: a lookup for `hash` found nothing (TinyLFU samples its hit
//    rate from hits and misses);
//    on_remove: the entry leaves for any reason (delete, expiry, eviction).
//  - victim(): called while the shard is over its limits; returns a resident
//    entry that the shard will then on_remove() and free (it may be the entry
//    just inserted: that is how admission filters reject).
//  - Entries live in EntryList lists (entry.h) or in none. When the shard
//    moves an entry to a new allocation it patches list neighbours itself
//    and then calls on_move(from, to) for any other pointer the policy keeps.
//  - bytes_per_entry: memory the policy keeps per entry outside the Entry
//    (a sketch, say), charged to each entry so memory_bytes tells the truth.
//  - capacity_hint: the shard's item limit (0 = unknown), for sizing regions.
// All calls happen under the shard's lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entry.h"

namespace unicache {

class EvictionPolicy {
public:
    virtual ~EvictionPolicy() = default;
    virtual void on_insert(Entry *e) = 0;
    virtual void on_hit(Entry *e) = 0;
    // False when on_hit does nothing: the shard then does not record hits.
    virtual bool uses_hits() const { return true; }
    virtual void on_update(Entry *e) { on_hit(e); }
    virtual void on_miss(uint64_t hash) { (void)hash; }
    virtual size_t bytes_per_entry() const { return 0; }
    virtual void on_remove(Entry *e) = 0;
    virtual Entry *victim() = 0;
    virtual void on_move(Entry *from, Entry *to)
    {
        (void)from;
        (void)to;
    }
};

// Names accepted by the policy= parameter; the first is the default.
const std::vector<std::string> &policy_names();

// Throws Error(CACHE_EINVAL) for an unknown name.
std::unique_ptr<EvictionPolicy> make_policy(const std::string &name, size_t capacity_hint);

} // namespace unicache
