// GenerationTable: the last known generation of one prefix on each server,
// shared by every handle in this process that has the same server list and
// prefix, so that a clear() through one of them is seen by all of them at
// once. Other processes see it when their copy is refreshed (see
// MemcachedBackend::generation).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace unicache {

class GenerationTable {
public:
    struct Slot {
        std::atomic<uint64_t> value{0};      // 0: not known yet
        std::atomic<int64_t> checked_ms{0};  // monotonic time of the last read
        std::atomic<bool> refreshing{false}; // one thread refreshes, others go on
    };

    // The table for (servers, prefix), created on first use.
    static std::shared_ptr<GenerationTable> find(const std::string &servers,
                                                 const std::string &prefix, size_t nservers);

    explicit GenerationTable(size_t nservers) : slots_(new Slot[nservers]), size_(nservers) {}
    Slot &slot(size_t server) { return slots_[server]; }
    size_t size() const { return size_; }

private:
    std::unique_ptr<Slot[]> slots_;
    size_t size_;
};

} // namespace unicache
