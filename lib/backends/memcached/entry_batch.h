// EntryBatch: the item names of one multi-get, and which request each reply
// answers. memcached answers hits only, and each server in request order, so
// the next unanswered request is almost always the one; when it is not (a
// miss, or replies from several servers interleaving) a few names ahead are
// tried, then a hash index of all names built for the rest of the batch.
// Reused from call to call, so a batch allocates nothing once warm.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace unicache {

class EntryBatch
{
  public:
    static constexpr size_t npos = SIZE_MAX;

    void clear();
    // A name is written at the end of *buffer(), from offset start, then
    // committed. After the last one, seal() makes the arrays for mget.
    std::string *buffer() { return &buffer_; }
    void commit(size_t start, bool hashed);
    void seal();

    size_t size() const { return lengths_.size(); }
    const char *const *names() const { return pointers_.data(); }
    const size_t *lengths() const { return lengths_.data(); }
    Bytes name(size_t i) const { return Bytes(pointers_[i], lengths_[i]); }
    bool hashed(size_t i) const { return hashed_[i] != 0; }

    // The request a reply named `name` answers, or npos for a name nobody
    // asked for (or asked fewer times than answered).
    size_t match(Bytes name);

  private:
    size_t take(size_t i);
    void build_index();

    std::string buffer_;
    std::vector<size_t> offsets_, lengths_;
    std::vector<const char *> pointers_;
    std::vector<char> hashed_, answered_;
    size_t cursor_ = 0;
    std::vector<uint32_t> index_;     // open addressing: request + 1, 0 empty
    std::vector<uint32_t> next_same_; // the next request of the same name + 1
};

} // namespace unicache
