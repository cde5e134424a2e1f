// EntryTable: a shard's index from key to Entry, open addressing with linear
// probing over (hash, Entry*) slots.
//
// A lookup reads one slot (usually one cache line) and compares the full
// 64-bit hash before it touches an entry, so a hit costs two memory accesses:
// the slot and the entry, whose key and value sit side by side. (A
// std::unordered_map costs a bucket, a node and then the entry, plus an
// integer division per step.) Deletion shifts the following slots back
// instead of leaving tombstones, so probe sequences stay short forever.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "entry.h"

namespace unicache {

class EntryTable {
public:
    // Average bytes of table per entry: 16-byte slots at a load between 3/8
    // and 3/4. Counted in each entry's memory charge.
    static constexpr size_t kBytesPerEntry = 32;

    explicit EntryTable(size_t expected = 0) { reserve(expected); }
    EntryTable(const EntryTable &) = delete;
    EntryTable &operator=(const EntryTable &) = delete;

    size_t size() const { return size_; }
    size_t capacity() const { return slots_.size(); }

    // Sizes the table so that n entries fit without growing.
    void reserve(size_t n)
    {
        size_t want = 16;
        while (want * 3 / 4 < n)
            want *= 2;
        if (want > slots_.size())
            rehash(want);
    }

    Entry *find(std::string_view key, uint64_t hash) const
    {
        if (size_ == 0)
            return nullptr;
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (!s.entry)
                return nullptr;
            if (s.hash == hash && s.entry->key_len == key.size() &&
                same_bytes(s.entry->key_data(), key.data(), key.size()))
                return s.entry;
        }
    }

    // Adds an entry whose key is not in the table.
    void insert(Entry *e)
    {
        if ((size_ + 1) * 4 > slots_.size() * 3)
            rehash(slots_.empty() ? 16 : slots_.size() * 2);
        place(e);
        size_++;
    }

    // Points the slot of `from` at `to` (the same key, a new allocation).
    void replace(Entry *from, Entry *to) { slots_[slot_of(from)].entry = to; }

    void erase(Entry *e)
    {
        erase_slot(slot_of(e));
        size_--;
    }

    // Calls fn(Entry *) for every entry. fn returns true to erase the entry
    // (the table does not free it). Entries may be visited twice when an
    // erase wraps one around the end; fn must give the same answer again.
    template <typename Fn> void erase_if(Fn fn) { erase_if_range(0, slots_.size(), fn); }

    // erase_if over slots [begin, end): lets a caller walk the table in
    // chunks, releasing its lock between them.
    template <typename Fn> void erase_if_range(size_t begin, size_t end, Fn fn)
    {
        for (size_t i = begin; i < end && i < slots_.size();) {
            Entry *e = slots_[i].entry;
            if (e && fn(e)) {
                erase_slot(i);
                size_--;
                continue; // a following entry may have shifted into slot i
            }
            i++;
        }
    }

    template <typename Fn> void for_each(Fn fn) const
    {
        for (const Slot &s : slots_)
            if (s.entry)
                fn(s.entry);
    }

    // Removes every slot (the entries are the caller's to free).
    void clear()
    {
        for (Slot &s : slots_)
            s = Slot();
        size_ = 0;
    }

private:
    // memcmp() == 0, inline for the short keys most caches use (a call to
    // memcmp costs more than comparing 16 bytes).
    static bool same_bytes(const char *a, const char *b, size_t n)
    {
        if (n >= 8 && n <= 16) {
            uint64_t a0, b0, a1, b1;
            std::memcpy(&a0, a, 8);
            std::memcpy(&b0, b, 8);
            std::memcpy(&a1, a + n - 8, 8);
            std::memcpy(&b1, b + n - 8, 8);
            return ((a0 ^ b0) | (a1 ^ b1)) == 0;
        }
        return std::memcmp(a, b, n) == 0;
    }

    struct Slot {
        uint64_t hash = 0;
        Entry *entry = nullptr;
    };

    void place(Entry *e)
    {
        size_t i = e->hash & mask_;
        while (slots_[i].entry)
            i = (i + 1) & mask_;
        slots_[i].hash = e->hash;
        slots_[i].entry = e;
    }

    size_t slot_of(const Entry *e) const
    {
        size_t i = e->hash & mask_;
        while (slots_[i].entry != e)
            i = (i + 1) & mask_;
        return i;
    }

    // Backward-shift deletion: move later entries of the same probe run
    // into the hole when their home slot allows it.
    void erase_slot(size_t hole)
    {
        for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
            Slot &s = slots_[j];
            if (!s.entry)
                break;
            size_t home = s.hash & mask_;
            // s may fill the hole if its home is not in (hole, j].
            if (((j - home) & mask_) >= ((j - hole) & mask_)) {
                slots_[hole] = s;
                hole = j;
            }
        }
        slots_[hole] = Slot();
    }

    void rehash(size_t n)
    {
        std::vector<Slot> old(n);
        old.swap(slots_);
        mask_ = n - 1;
        for (const Slot &s : old)
            if (s.entry)
                place(s.entry);
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

} // namespace unicache
