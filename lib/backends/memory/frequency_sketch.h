// FrequencySketch: approximate recent access counts for TinyLFU admission.
//
// A count-min sketch of 4-bit counters (depth 4, 16 counters per 64-bit
// word, one word per unit of capacity rounded up to a power of two), as in
// the TinyLFU paper (Einziger, Friedman, Manes). A key's four counters live
// in one 64-byte block, so an increment or an estimate touches one cache
// line. Increments are conservative (only the counters equal to the key's
// current minimum grow), which keeps keys that share counters with a hot
// key from looking hot themselves.
//
// Aging: after kAgingPeriod x capacity accesses every counter is halved, so
// the sketch follows recent popularity and a once-hot key fades out.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace unicache {

class FrequencySketch {
public:
    static constexpr unsigned kMaxCount = 15;
    // Accesses between two halvings, per unit of capacity. Conservative
    // updates grow counters slowly, so the period is twice Caffeine's.
    static constexpr size_t kAgingPeriod = 20;

    // Sized for a cache of `capacity` entries, but allocated for `initial`
    // of them (at most `capacity`): grow() widens it as entries arrive, so
    // a large limit costs nothing until the cache holds that much.
    explicit FrequencySketch(size_t capacity, size_t initial = SIZE_MAX)
    {
        while (max_words_ < capacity && max_words_ < (size_t(1) << 30))
            max_words_ <<= 1;
        size_t words = 64;
        while (words < std::min(initial, capacity) && words < max_words_)
            words <<= 1;
        table_.assign(words, 0);
        block_mask_ = words / kWordsPerBlock - 1;
        aging_period_ = kAgingPeriod * std::max<size_t>(capacity, 16);
    }

    // Widens the table (doubling, up to the capacity's width) until it has
    // a word per entry for `entries`. Every estimate stays what it was:
    // doubling adds one bit to a key's block number, and each block is
    // copied to the two blocks its keys now map to.
    void grow(size_t entries)
    {
        while (table_.size() < entries && table_.size() < max_words_) {
            size_t n = table_.size();
            table_.resize(2 * n);
            std::copy(table_.begin(), table_.begin() + std::ptrdiff_t(n),
                      table_.begin() + std::ptrdiff_t(n));
            block_mask_ = 2 * n / kWordsPerBlock - 1;
        }
    }

    size_t width() const { return table_.size(); }

    unsigned estimate(uint64_t hash) const
    {
        Cells c(const_cast<FrequencySketch *>(this), hash);
        return std::min(std::min(c.count(0), c.count(1)), std::min(c.count(2), c.count(3)));
    }

    // Adds n to the key's count, saturating at kMaxCount. Conservative: a
    // counter only rises to the key's new estimate, so counters the key
    // shares with hotter keys do not grow. Does not count as accesses.
    void add(uint64_t hash, unsigned n)
    {
        Cells c(this, hash);
        unsigned c0 = c.count(0), c1 = c.count(1), c2 = c.count(2), c3 = c.count(3);
        unsigned target = std::min(std::min(std::min(c0, c1), std::min(c2, c3)) + n, kMaxCount);
        c.raise(0, c0, target);
        c.raise(1, c1, target);
        c.raise(2, c2, target);
        c.raise(3, c3, target);
    }

    // Counts one access; true when the aging period is over and the owner
    // should call age().
    bool tick() { return ++accesses_ >= aging_period_; }

    // One access of the key.
    void increment(uint64_t hash)
    {
        add(hash, 1);
        if (tick())
            age();
    }

    // Halves every counter and the access count, so the next aging comes
    // after half a period: the sketch keeps about one period of history.
    void age()
    {
        for (uint64_t &w : table_)
            w = (w >> 1) & 0x7777777777777777ull;
        accesses_ /= 2;
    }

private:
    static constexpr size_t kWordsPerBlock = 8; // 64 bytes

    // The block comes from the high half of a remix of the key's hash (the
    // shard already consumed some raw bits). Row i owns words 2i and 2i+1 of
    // the block and takes one of them and one 4-bit counter in it from 5
    // bits of the low half.
    static uint64_t remix(uint64_t hash)
    {
        uint64_t h = (hash ^ (hash >> 29)) * 0xBF58476D1CE4E5B9ull;
        return h ^ (h >> 32);
    }
    uint64_t *block(uint64_t h) const
    {
        return const_cast<uint64_t *>(table_.data()) +
               (size_t(h >> 32) & block_mask_) * kWordsPerBlock;
    }

    // A key's four counters (written out so the compiler keeps them in
    // registers; this runs on every cache hit).
    class Cells {
    public:
        Cells(FrequencySketch *s, uint64_t hash) : h_(remix(hash)), block_(s->block(h_)) {}
        unsigned count(unsigned row) const { return unsigned(*word(row) >> shift(row)) & 0xF; }
        void raise(unsigned row, unsigned current, unsigned target)
        {
            if (current < target)
                *word(row) += uint64_t(target - current) << shift(row);
        }

    private:
        uint64_t *word(unsigned row) const { return block_ + row * 2 + ((h_ >> (row * 5)) & 1); }
        unsigned shift(unsigned row) const { return unsigned((h_ >> (row * 5 + 1)) & 0xF) * 4; }

        uint64_t h_;
        uint64_t *block_;
    };

    std::vector<uint64_t> table_;
    size_t max_words_ = 64; // the capacity's width
    size_t block_mask_ = 0;
    size_t aging_period_ = 0;
    size_t accesses_ = 0;
};

} // namespace unicache
