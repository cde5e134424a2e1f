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
// Aging: after kAgingPeriod x capacity increments every counter is halved,
// so the sketch follows recent popularity and a once-hot key fades out.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace unicache {

class FrequencySketch {
public:
    static constexpr unsigned kMaxCount = 15;
    // Increments between two halvings, per unit of capacity. Conservative
    // updates grow counters slowly, so the period is twice Caffeine's.
    static constexpr size_t kAgingPeriod = 20;

    explicit FrequencySketch(size_t capacity) { resize(capacity); }

    // Sizes the table for a capacity (forgetting every count).
    void resize(size_t capacity)
    {
        size_t words = 64;
        while (words < capacity && words < (size_t(1) << 30))
            words <<= 1;
        table_.assign(words, 0);
        block_mask_ = words / kWordsPerBlock - 1;
        aging_period_ = kAgingPeriod * std::max<size_t>(capacity, 16);
        additions_ = 0;
    }
    size_t width() const { return table_.size(); }

    unsigned estimate(uint64_t hash) const
    {
        Slots s = slots(hash);
        unsigned m = kMaxCount;
        for (int i = 0; i < 4; i++)
            m = std::min(m, counter(s, i));
        return m;
    }

    void increment(uint64_t hash)
    {
        Slots s = slots(hash);
        unsigned c[4];
        unsigned m = kMaxCount;
        for (int i = 0; i < 4; i++) {
            c[i] = counter(s, i);
            m = std::min(m, c[i]);
        }
        if (m == kMaxCount)
            return;
        for (int i = 0; i < 4; i++)
            if (c[i] == m)
                table_[s.word[i]] += uint64_t(1) << s.shift[i];
        if (++additions_ >= aging_period_)
            age();
    }

    // Halves every counter. An odd counter loses half a count that
    // additions_ still remembers; four counters make one addition.
    void age()
    {
        size_t odd = 0;
        for (uint64_t &w : table_) {
            odd += size_t(__builtin_popcountll(w & 0x1111111111111111ull));
            w = (w >> 1) & 0x7777777777777777ull;
        }
        additions_ = (additions_ - std::min(additions_, odd / 4)) / 2;
    }

private:
    static constexpr size_t kWordsPerBlock = 8; // 64 bytes

    struct Slots {
        size_t word[4];
        unsigned shift[4];
    };

    unsigned counter(const Slots &s, int i) const
    {
        return unsigned(table_[s.word[i]] >> s.shift[i]) & 0xF;
    }

    // The block comes from the high half of a remix of the key's hash (the
    // shard already consumed some raw bits); each row takes one word of its
    // own pair in the block and one counter in that word from the low half.
    Slots slots(uint64_t hash) const
    {
        uint64_t h = (hash ^ (hash >> 29)) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 32;
        size_t block = size_t(h >> 32) & block_mask_;
        Slots s;
        for (int i = 0; i < 4; i++) {
            unsigned bits = unsigned(h >> (i * 5)) & 0x1F;
            s.word[i] = block * kWordsPerBlock + size_t(i) * 2 + (bits & 1);
            s.shift[i] = (bits >> 1) * 4;
        }
        return s;
    }

    std::vector<uint64_t> table_;
    size_t block_mask_ = 0;
    size_t aging_period_ = 0;
    size_t additions_ = 0;
};

} // namespace unicache
