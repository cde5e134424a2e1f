// The classic policies: LRU and FIFO, each one list; and none at all.
#pragma once

#include "policy.h"

namespace unicache {

class LruPolicy final : public EvictionPolicy {
public:
    void on_insert(Entry *e) override { list_.push_front(e); }
    void on_hit(Entry *e) override { list_.move_to_front(e); }
    void on_remove(Entry *e) override { list_.remove(e); }
    Entry *victim() override { return list_.back(); }

private:
    EntryList list_;
};

class FifoPolicy final : public EvictionPolicy {
public:
    void on_insert(Entry *e) override { list_.push_front(e); }
    void on_hit(Entry *) override {}
    bool uses_hits() const override { return false; }
    void on_remove(Entry *e) override { list_.remove(e); }
    Entry *victim() override { return list_.back(); }

private:
    EntryList list_;
};

// For a shard without limits: nothing is ever evicted, so no bookkeeping.
class NoEvictionPolicy final : public EvictionPolicy {
public:
    void on_insert(Entry *) override {}
    void on_hit(Entry *) override {}
    bool uses_hits() const override { return false; }
    void on_remove(Entry *) override {}
    Entry *victim() override { return nullptr; }
};

} // namespace unicache
