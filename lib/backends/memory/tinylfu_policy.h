// TinyLfuPolicy: adaptive Window-TinyLFU, the memory backend's default.
//
// The design follows the TinyLFU paper (Einziger, Friedman, Manes) and
// Caffeine's adaptive variant; the code is our own.
//  - New entries enter a small LRU "window", which serves bursts and
//    recency-heavy traffic.
//  - An entry pushed out of the window becomes a candidate for the main
//    space, a segmented LRU (probation, then protected on a second hit). It
//    is admitted only if the frequency sketch says it is more popular than
//    main's victim; otherwise the candidate itself leaves. One-hit wonders
//    and scans therefore never displace the established working set.
//  - A victim that wins a contest goes back to the recent end of probation
//    (a second chance), so the next candidate meets the next-oldest entry.
//    Without this, one stale entry whose count has not yet aged away can
//    turn back every candidate; with it the replay of the cloudphysics trace
//    at 20% capacity drops from 0.72 to 0.67 misses, below S3-FIFO and ARC.
//  - A candidate that ties or loses but is already warm (count >= 6) gets in
//    with probability 1/128, so an attacker who floods a victim's sketch
//    counters with colliding keys cannot freeze the cache's contents.
//  - A hill climber sizes the window from the sampled hit rate (as
//    Caffeine's): each sample it steps the window in the direction that
//    improved the hit rate, reverses when it got worse, shrinks the step as
//    it converges and restarts with a full step when the hit rate jumps.
//  - Ghosts of the newcomers the door turned back grow the window at once
//    when many of them are asked for again (see remember()): a short trace
//    where recency is everything is over before the climber would adapt.
//
// Regions are shares of the capacity: the shard's item limit when it has
// one, otherwise the largest resident count seen (a memory-bounded cache).
// A hit costs a counter in the entry itself and, unless the entry is among
// the most recent quarter of its queue, one list move.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "frequency_sketch.h"
#include "policy.h"

namespace unicache {

class TinyLfuPolicy final : public EvictionPolicy {
public:
    explicit TinyLfuPolicy(size_t capacity_hint)
        : fixed_capacity_(capacity_hint != 0), capacity_(std::max<size_t>(capacity_hint, 16)),
          sketch_(capacity_, kInitialSketch),
          rng_(0x2545F4914F6CDD1Dull ^ uint64_t(reinterpret_cast<uintptr_t>(this)))
    {
        size_ghosts();
        resize_regions();
    }

    void on_insert(Entry *e) override
    {
        sketch_.add(e->hash, 1);
        count_access();
        e->freq = 0;
        e->queue = kWindow;
        window_.push_front(e);
        if (!fixed_capacity_)
            track_capacity();
        else if (resident() > sketch_.width()) {
            sketch_.grow(resident());
            size_ghosts();
        }
        // The window's overflow becomes the candidate for main.
        while (window_.size() > window_max_) {
            Entry *c = window_.back();
            window_.remove(c);
            c->queue = kProbation;
            probation_.push_front(c);
            candidate_ = c;
        }
    }

    void on_hit(Entry *e) override
    {
        touch(e);
        if (++sample_hits_ + sample_misses_ >= sample_period_)
            climb();
    }

    // A write is an access for the sketch and the queues, but not a hit for
    // the climber's hit rate.
    void on_update(Entry *e) override { touch(e); }

    // The sketch: one 8-byte word per unit of capacity, rounded up to a
    // power of two (twice that without an item limit, as it grows ahead);
    // the ghosts: 2 bytes per unit of capacity, rounded up likewise.
    size_t bytes_per_entry() const override { return fixed_capacity_ ? 20 : 36; }

    void on_miss(uint64_t hash) override
    {
        recall(hash);
        if (sample_hits_ + ++sample_misses_ >= sample_period_)
            climb();
    }

    void on_remove(Entry *e) override
    {
        if (candidate_ == e)
            candidate_ = nullptr;
        if (e->freq)
            sketch_.add(e->hash, e->freq); // its history outlives it
        list_of(e).remove(e);
        e->queue = 0;
    }

    Entry *victim() override
    {
        Entry *v = probation_.back();
        if (v && v == candidate_)
            v = probation_.size() > 1 ? v->prev : nullptr;
        if (!v)
            v = protected_.back();
        if (!v)
            v = window_.back();
        if (!candidate_ || !v)
            return v ? v : candidate_;
        unsigned candidate_count = count(candidate_);
        if (admits(candidate_count, count(v))) {
            remember(v->hash, kVictimGhost);
            return v;
        }
        if (v->queue == kProbation) {
            probation_.remove(v);
            probation_.push_front(v);
        }
        if (candidate_count <= 1)
            remember(candidate_->hash, kNewcomerGhost);
        return candidate_;
    }

    void on_move(Entry *from, Entry *to) override
    {
        if (candidate_ == from)
            candidate_ = to;
    }

    // The admission rule on two sketch counts: the more popular wins; a warm
    // candidate that ties or loses still gets in 1 time in 128.
    bool admits(unsigned candidate_count, unsigned victim_count)
    {
        if (candidate_count > victim_count)
            return true;
        if (candidate_count < kWarm)
            return false;
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return (rng_ & 127) == 0;
    }

    // For tests: the window's current share of the capacity, and the sketch.
    double window_share() const { return window_share_; }
    const FrequencySketch &sketch() const { return sketch_; }

private:
    enum : uint8_t { kWindow = 1, kProbation = 2, kProtected = 3 };
    static constexpr unsigned kWarm = 6;            // jitter applies from here
    static constexpr double kProtectedShare = 0.80; // of main
    static constexpr double kInitialWindow = 0.01;
    static constexpr double kMaxWindow = 0.80;
    static constexpr double kFullStep = 0.0625; // of the capacity
    static constexpr double kStepDecay = 0.98;
    static constexpr double kRestartChange = 0.05; // hit-rate jump: a new workload
    // A sample is kSamplePerItem requests per unit of capacity, but at least
    // kMinSample: a small cache's hit rate over a few hundred requests is
    // mostly noise and sends the climber the wrong way.
    static constexpr size_t kSamplePerItem = 5;
    static constexpr size_t kMinSample = 10000;
    // Sketch words allocated before the cache holds that many entries (8 KiB
    // a shard): a limit of millions costs its sketch only as it fills.
    static constexpr size_t kInitialSketch = 1024;
    // A hit on an entry in the most recent 1/kLazyShare of its LRU list does
    // not move it (see EntryList::age_of).
    static constexpr size_t kLazyShare = 4;

    // A resident entry's accesses since it was inserted wait in e->freq
    // (its cache line is already loaded) instead of going to the sketch, so
    // a hit does not pay a sketch cache miss. They join the sketch when the
    // entry leaves, and count in every comparison meanwhile.
    void touch(Entry *e)
    {
        if (e->freq < FrequencySketch::kMaxCount)
            e->freq++;
        count_access();
        switch (e->queue) {
        case kWindow:
            if (window_.age_of(e) >= window_.size() / kLazyShare)
                window_.move_to_front(e);
            break;
        case kProbation:
            if (candidate_ == e)
                candidate_ = nullptr;
            probation_.remove(e);
            e->queue = kProtected;
            protected_.push_front(e);
            while (protected_.size() > protected_max_) {
                Entry *d = protected_.back();
                protected_.remove(d);
                d->queue = kProbation;
                probation_.push_front(d);
            }
            break;
        default:
            if (protected_.age_of(e) >= protected_.size() / kLazyShare)
                protected_.move_to_front(e);
            break;
        }
    }

    // Ghosts, ARC's idea on W-TinyLFU's door: the tags of the last entries
    // each admission contest sent away, a newcomer turned back (seen once)
    // or the main victim an admitted candidate displaced. The hill climber
    // moves when the hit rate moves; on a trace where counting says nothing
    // (every key read a few times while it is young, and never after) the
    // hit rate stays flat until the window is large enough to hold the
    // young keys, and a short trace ends before the climber gets there
    // (50,000 requests at capacity 100: LRU misses 0.25, the climber alone
    // 0.71). Turned-back newcomers that are asked for again say so at once.
    // So every kGhostPeriodPerItem x capacity misses, when more than
    // kGhostShare of them were such newcomers (half that while the last
    // period pushed), and they outnumber returning victims twice, the window
    // grows by one entry per returning newcomer; the climber still decides
    // everything else. The threshold keeps the push out of traces where
    // frequency pays (the four shared traces: mean gap to OPT unchanged).
    enum : uint16_t { kNewcomerGhost = 1, kVictimGhost = 2 };
    static constexpr size_t kGhostPeriodPerItem = 10;
    static constexpr size_t kGhostPeriodMin = 100;
    static constexpr double kGhostShare = 0.2;

    static uint16_t ghost_tag(uint64_t hash) { return uint16_t(hash >> 50); } // 14 bits
    size_t ghost_slot(uint64_t hash) const { return size_t(hash >> 24) & (ghosts_.size() - 1); }
    void remember(uint64_t hash, uint16_t kind)
    {
        ghosts_[ghost_slot(hash)] = uint16_t(ghost_tag(hash) << 2 | kind);
    }
    void recall(uint64_t hash)
    {
        if (++ghost_misses_ >= kGhostPeriodPerItem * capacity_ + kGhostPeriodMin)
            judge_ghosts();
        uint16_t &g = ghosts_[ghost_slot(hash)];
        if (!g || (g >> 2) != ghost_tag(hash))
            return;
        if ((g & 3) == kNewcomerGhost)
            newcomers_back_++;
        else
            victims_back_++;
        g = 0;
    }
    void judge_ghosts()
    {
        double share = pushed_ ? kGhostShare / 2 : kGhostShare;
        pushed_ = double(newcomers_back_) > share * double(ghost_misses_) &&
                  newcomers_back_ > 2 * victims_back_;
        if (pushed_) {
            window_share_ =
                std::min(window_share_ + double(newcomers_back_) / double(capacity_), kMaxWindow);
            resize_regions();
        }
        ghost_misses_ = newcomers_back_ = victims_back_ = 0;
    }
    // As many slots as the sketch has words (a power of two), so that a huge
    // limit costs its ghosts only as the cache fills, like its sketch.
    void size_ghosts()
    {
        if (ghosts_.size() != sketch_.width())
            ghosts_.assign(sketch_.width(), 0);
    }

    unsigned count(const Entry *e) const
    {
        return std::min(sketch_.estimate(e->hash) + e->freq, FrequencySketch::kMaxCount);
    }

    void count_access()
    {
        if (!sketch_.tick())
            return;
        sketch_.age();
        auto halve = [](Entry *e) { e->freq /= 2; };
        window_.for_each(halve);
        probation_.for_each(halve);
        protected_.for_each(halve);
    }

    EntryList &list_of(Entry *e)
    {
        return e->queue == kWindow ? window_ : e->queue == kProbation ? probation_ : protected_;
    }

    void climb()
    {
        double rate = double(sample_hits_) / double(sample_hits_ + sample_misses_);
        double change = rate - previous_rate_;
        double amount = change >= 0 ? step_ : -step_;
        step_ = std::fabs(change) >= kRestartChange ? std::copysign(kFullStep, amount)
                                                    : amount * kStepDecay;
        previous_rate_ = rate;
        sample_hits_ = sample_misses_ = 0;
        window_share_ = std::clamp(window_share_ + amount, 0.0, kMaxWindow);
        resize_regions();
    }

    // Regions shrink or grow lazily: an oversized window spills into
    // probation on the next insert, an oversized main loses contests.
    void resize_regions()
    {
        window_max_ = std::max<size_t>(1, size_t(double(capacity_) * window_share_));
        size_t main = capacity_ > window_max_ ? capacity_ - window_max_ : 1;
        protected_max_ = std::max<size_t>(1, size_t(double(main) * kProtectedShare));
        sample_period_ = std::max(kSamplePerItem * capacity_, kMinSample);
    }

    size_t resident() const { return window_.size() + probation_.size() + protected_.size(); }

    // Without an item limit the capacity is the most the cache has held.
    void track_capacity()
    {
        if (resident() <= capacity_)
            return;
        capacity_ = resident();
        if (capacity_ > sketch_.width()) {
            // A wider sketch, seeded with the resident entries' counts so
            // that growing does not make the whole cache look cold.
            FrequencySketch wider(capacity_ * 2);
            auto carry = [&](Entry *e) { wider.add(e->hash, sketch_.estimate(e->hash)); };
            window_.for_each(carry);
            probation_.for_each(carry);
            protected_.for_each(carry);
            sketch_ = std::move(wider);
            size_ghosts();
        }
        resize_regions();
    }

    bool fixed_capacity_;
    size_t capacity_;
    FrequencySketch sketch_;
    std::vector<uint16_t> ghosts_; // see remember()
    size_t ghost_misses_ = 0, newcomers_back_ = 0, victims_back_ = 0;
    bool pushed_ = false;
    EntryList window_, probation_, protected_;
    Entry *candidate_ = nullptr;
    size_t window_max_ = 1, protected_max_ = 1;

    double window_share_ = kInitialWindow;
    double step_ = kFullStep;
    double previous_rate_ = 0;
    size_t sample_hits_ = 0, sample_misses_ = 0, sample_period_ = kMinSample;
    uint64_t rng_;
};

} // namespace unicache
