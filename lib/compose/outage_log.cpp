#include "compose/outage_log.h"

namespace unicache {

void OutageLog::record(Bytes key, Write w)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(std::string(key));
    if (it != keys_.end()) {
        it->second = std::move(w); // newest wins
        return;
    }
    if (broad_.size() + keys_.size() >= max_) {
        dropped_++;
        overflowed_ = true;
        pending_.store(true, std::memory_order_release);
        return;
    }
    keys_.emplace(std::string(key), std::move(w));
    pending_.store(true, std::memory_order_release);
}

OutageLog::Pending OutageLog::take()
{
    std::lock_guard<std::mutex> lock(mu_);
    Pending p;
    p.broad.swap(broad_);
    p.keys.assign(keys_.begin(), keys_.end());
    keys_.clear();
    p.overflowed = overflowed_;
    overflowed_ = false;
    pending_.store(false, std::memory_order_release);
    return p;
}

void OutageLog::restore(Pending p)
{
    std::lock_guard<std::mutex> lock(mu_);
    // The older broad deletes go first again; newer per-key writes stay.
    p.broad.insert(p.broad.end(), std::make_move_iterator(broad_.begin()),
                   std::make_move_iterator(broad_.end()));
    broad_.swap(p.broad);
    for (auto &k : p.keys)
        keys_.emplace(std::move(k.first), std::move(k.second)); // no-op when a newer one is there
    overflowed_ = overflowed_ || p.overflowed;
    pending_.store(!broad_.empty() || !keys_.empty() || overflowed_, std::memory_order_release);
}

bool OutageLog::deleted(Bytes key) const
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(std::string(key));
    return it != keys_.end() && it->second.op == KeyOp::del;
}

bool OutageLog::empty() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return broad_.empty() && keys_.empty() && !overflowed_;
}

void OutageLog::count_replayed(int64_t n)
{
    std::lock_guard<std::mutex> lock(mu_);
    replayed_ += n;
}

void OutageLog::add_stats(StatsPart part) const
{
    std::lock_guard<std::mutex> lock(mu_);
    part.count("pending", int64_t(broad_.size() + keys_.size()));
    part.count("replayed", replayed_);
    part.count("dropped", dropped_);
}

} // namespace unicache
