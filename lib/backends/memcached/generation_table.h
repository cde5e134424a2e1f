// GenerationTable: the last known generation of one prefix (prefix_mode=raw)
// or namespace on each server, shared by every handle in this process that
// has the same server list and prefix or namespace, so that a clear()
// through one of them is seen by all of them at once. Other processes see it when their copy is
// refreshed (see MemcachedBackend::generation).
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
        // A namespace's: the root generation its counter is named under
        // (value holds for that root only).
        std::atomic<uint64_t> root{0};
    };
    // What a table counts for: a raw prefix (the root "" is one), or a
    // namespace under the root.
    enum class Kind : char { prefix = 'p', space = 'n' };

    // The table for (servers, kind, name), created on first use.
    static std::shared_ptr<GenerationTable> find(const std::string &servers, Kind kind,
                                                 const std::string &name, size_t nservers);

    GenerationTable(size_t nservers, Kind kind, std::string name)
        : slots_(new Slot[nservers]), size_(nservers), kind_(kind), name_(std::move(name))
    {
    }
    Slot &slot(size_t server) { return slots_[server]; }
    size_t size() const { return size_; }
    Kind kind() const { return kind_; }
    const std::string &name() const { return name_; } // the prefix or namespace

private:
    std::unique_ptr<Slot[]> slots_;
    size_t size_;
    Kind kind_;
    std::string name_;
};

} // namespace unicache
