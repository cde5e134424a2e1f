// Entry: one cached item in one allocation (header, key bytes, value bytes).
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

namespace unicache {

// The fields a lookup reads (expiry, lengths) come last, right before the
// key and the value, so that a hit's reads start as late in the allocation
// as they can: 13-byte keys and 100-byte values then span 3 cache lines
// where the order of declaration used to span 3 or 4. The policy's fields
// come first: their updates are deferred and batched (MemoryShard's read
// buffer).
struct Entry {
    // Policy links. An entry is either in no list (both null) or in a
    // circular list whose head is a sentinel Entry, so the shard can move an
    // entry to a new allocation by patching its neighbours.
    Entry *prev = nullptr;
    Entry *next = nullptr;
    uint64_t hash = 0;   // the backend's seeded hash of the key
    uint64_t tag_id = 0; // non-zero: set by set_tagged with this id
    uint32_t charge = 0; // bytes counted against max_memory
    uint32_t stamp = 0;  // EntryList's clock when last put at the front
    uint32_t value_cap = 0;
    uint8_t queue = 0; // which policy queue holds the entry
    uint8_t freq = 0;  // LFU: access count; TinyLFU: accesses not yet in its sketch
    uint16_t spare = 0;
    int64_t expire_at = 0; // monotonic ms; 0 = never
    uint32_t key_len = 0;
    uint32_t value_len = 0;

    char *key_data() { return reinterpret_cast<char *>(this + 1); }
    const char *key_data() const { return reinterpret_cast<const char *>(this + 1); }
    char *value_data() { return key_data() + key_len; }
    std::string_view key() const { return std::string_view(key_data(), key_len); }
    std::string_view value() const { return std::string_view(key_data() + key_len, value_len); }

    static Entry *create(std::string_view key, std::string_view value, uint64_t hash)
    {
        void *mem = ::operator new(sizeof(Entry) + key.size() + value.size());
        Entry *e = new (mem) Entry();
        e->hash = hash;
        e->key_len = uint32_t(key.size());
        e->value_cap = e->value_len = uint32_t(value.size());
        std::memcpy(e->key_data(), key.data(), key.size());
        if (!value.empty())
            std::memcpy(e->value_data(), value.data(), value.size());
        return e;
    }
    static void destroy(Entry *e)
    {
        e->~Entry();
        ::operator delete(e);
    }
};
// The memory accounting (MemoryShard::charge_for, README) counts this size.
static_assert(sizeof(Entry) == 64, "Entry's header is 64 bytes");

// Intrusive circular list with a sentinel head, shared by the policies.
class EntryList {
public:
    EntryList() { head_.prev = head_.next = &head_; }
    EntryList(const EntryList &) = delete;
    EntryList &operator=(const EntryList &) = delete;

    bool empty() const { return head_.next == &head_; }
    size_t size() const { return size_; }
    Entry *front() { return empty() ? nullptr : head_.next; } // most recent
    Entry *back() { return empty() ? nullptr : head_.prev; }  // least recent

    template <typename Fn> void for_each(Fn fn)
    {
        for (Entry *e = head_.next; e != &head_; e = e->next)
            fn(e);
    }

    // How many entries were put at the front since e was (an upper bound on
    // its distance from the front). Lets a policy skip moving an entry that
    // is already among the most recent: two fewer cache misses per hit.
    uint32_t age_of(const Entry *e) const { return clock_ - e->stamp; }

    void push_front(Entry *e)
    {
        e->next = head_.next;
        e->prev = &head_;
        head_.next->prev = e;
        head_.next = e;
        e->stamp = ++clock_;
        size_++;
    }
    void remove(Entry *e)
    {
        e->prev->next = e->next;
        e->next->prev = e->prev;
        e->prev = e->next = nullptr;
        size_--;
    }
    void move_to_front(Entry *e)
    {
        if (head_.next == e) {
            e->stamp = clock_;
            return;
        }
        e->prev->next = e->next;
        e->next->prev = e->prev;
        e->next = head_.next;
        e->prev = &head_;
        head_.next->prev = e;
        head_.next = e;
        e->stamp = ++clock_;
    }

private:
    Entry head_;
    size_t size_ = 0;
    uint32_t clock_ = 0;
};

} // namespace unicache
