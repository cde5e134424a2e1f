// OutageLog: the writes a tier missed while it was down, to apply when it is
// back, so that a key deleted during an outage never comes back from it.
// Per key only the newest write is kept (a delete, or a set that reached
// only the tiers above); deletes by pattern, by tag and clears are kept in
// order. Bounded: a write that does not fit is counted as dropped and marks
// the log as overflowed (the tiers above are then flushed at recovery, the
// only safe answer left).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/stats_part.h"

namespace unicache {

class OutageLog {
public:
    explicit OutageLog(size_t max_entries) : max_(max_entries) {}

    enum class KeyOp { del, set };
    struct Write {
        KeyOp op;
        std::string value;         // a set's value, kept for outage_writes=write_back
        int64_t expires_at_ms = 0; // its expiry (wall clock; 0: never)
    };
    struct Broad {
        enum class Kind { pattern, tags, clear } kind;
        std::string pattern;           // pattern: the full glob; clear: the prefix
        std::vector<std::string> tags; // tags: full tag names
    };
    struct Pending {
        std::vector<Broad> broad;
        std::vector<std::pair<std::string, Write>> keys;
        bool overflowed = false;
        bool empty() const { return broad.empty() && keys.empty() && !overflowed; }
    };

    void record(Bytes key, KeyOp op) { record(key, Write{op, std::string(), 0}); }
    void record(Bytes key, Write w);
    // A broad delete also ends the sets it covers: their copies above were
    // removed with it (match: does the broad op cover this key?).
    template <typename Covers> void record_broad(Broad b, Covers covers)
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = keys_.begin(); it != keys_.end();)
            it = it->second.op == KeyOp::set && covers(it->first) ? keys_.erase(it) : std::next(it);
        if (broad_.size() + keys_.size() >= max_) {
            dropped_++;
            overflowed_ = true;
            pending_.store(true, std::memory_order_release);
            return;
        }
        broad_.push_back(std::move(b));
        pending_.store(true, std::memory_order_release);
    }

    // Hands over everything recorded and empties the log.
    Pending take();
    // Puts back what could not be applied; writes recorded since win.
    void restore(Pending p);

    bool empty() const;
    // True when the newest write recorded for key is a delete.
    bool deleted(Bytes key) const;
    // Cheap check for the hot path: false means nothing to replay.
    bool maybe_pending() const { return pending_.load(std::memory_order_acquire); }
    void add_stats(StatsPart part) const;
    void count_replayed(int64_t n);

private:
    const size_t max_;
    mutable std::mutex mu_;
    std::vector<Broad> broad_;
    std::unordered_map<std::string, Write> keys_;
    bool overflowed_ = false;
    std::atomic<bool> pending_{false};
    int64_t dropped_ = 0;
    int64_t replayed_ = 0;
};

} // namespace unicache
