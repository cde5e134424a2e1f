// EntryBatch: the item names of one multi-get, the generation each entry
// must carry, and which request each reply answers. memcached answers hits
// only, and each server in request order, so the next unanswered request is
// almost always the one; when it is not (a miss, or replies from several
// servers interleaving) a few names ahead are tried, then a hash index of
// all names built for the rest of the batch. Reused from call to call, so a
// batch allocates nothing once warm.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace unicache {

class EntryBatch {
public:
    static constexpr size_t npos = SIZE_MAX;

    // Starts a batch of n requests; each is then named once, by name() or
    // by writing a digest name at the end of *digests() and naming it with
    // digest(), and seal() makes the arrays for mget.
    void reset(size_t n);
    // Request i is named `name`, which must outlive the batch (it is the
    // caller's key).
    void name(size_t i, Bytes name, uint64_t generation)
    {
        pointers_[i] = name.data();
        lengths_[i] = name.size();
        generations_[i] = generation;
        hashed_[i] = 0;
    }
    std::string *digests() { return &digests_; }
    // Request i is named by the digests() bytes from offset start on.
    void digest(size_t i, size_t start, uint64_t generation);
    void seal();

    size_t size() const { return lengths_.size(); }
    const char *const *names() const { return pointers_.data(); }
    const size_t *lengths() const { return lengths_.data(); }
    Bytes name(size_t i) const { return Bytes(pointers_[i], lengths_[i]); }
    bool hashed(size_t i) const { return hashed_[i] != 0; }
    uint64_t generation(size_t i) const { return generations_[i]; }

    // The request a reply named `name` answers, or npos for a name nobody
    // asked for (or asked fewer times than answered).
    size_t match(Bytes name)
    {
        // The common case, inline: the next request, unanswered.
        size_t i = cursor_;
        if (i < lengths_.size() && lengths_[i] == name.size() && !answered_[i] &&
            std::memcmp(pointers_[i], name.data(), name.size()) == 0)
            return take(i);
        return search(name);
    }

private:
    size_t take(size_t i)
    {
        answered_[i] = 1;
        cursor_ = i + 1;
        return i;
    }
    size_t search(Bytes name);
    void build_index();

    std::vector<const char *> pointers_;
    std::vector<size_t> lengths_;
    std::vector<uint64_t> generations_;
    std::vector<char> hashed_, answered_;
    std::string digests_;
    std::vector<std::pair<size_t, size_t>> digest_at_; // (request, offset in digests_)
    size_t cursor_ = 0;
    std::vector<uint32_t> index_;     // open addressing: request + 1, 0 empty
    std::vector<uint32_t> next_same_; // the next request of the same name + 1
};

} // namespace unicache
