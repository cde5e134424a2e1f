// LfuPolicy: least-frequently-used, O(1) per operation.
//
// Each entry counts its accesses (saturating at kMaxCount) and sits in the
// list for its count; the victim is the least recently used entry of the
// lowest non-empty count, found with one bit scan. Counts never age, so
// this is the classic LFU: strong on stable popularity, slow to forget.
#pragma once

#include <cstdint>

#include "policy.h"

namespace unicache {

class LfuPolicy final : public EvictionPolicy {
public:
    void on_insert(Entry *e) override
    {
        e->freq = 1;
        push(e);
    }
    void on_hit(Entry *e) override
    {
        if (e->freq < kMaxCount) {
            pop(e);
            e->freq++;
            push(e);
        } else {
            lists_[e->freq - 1].move_to_front(e);
        }
    }
    void on_remove(Entry *e) override { pop(e); }
    Entry *victim() override
    {
        if (!nonempty_)
            return nullptr;
        return lists_[__builtin_ctz(nonempty_)].back();
    }

private:
    static constexpr uint8_t kMaxCount = 32;

    void push(Entry *e)
    {
        lists_[e->freq - 1].push_front(e);
        nonempty_ |= uint32_t(1) << (e->freq - 1);
    }
    void pop(Entry *e)
    {
        EntryList &l = lists_[e->freq - 1];
        l.remove(e);
        if (l.empty())
            nonempty_ &= ~(uint32_t(1) << (e->freq - 1));
    }

    EntryList lists_[kMaxCount];
    uint32_t nonempty_ = 0; // bit i: lists_[i] holds entries
};

} // namespace unicache
