#include "entry_batch.h"

#include "core/hash.h"

namespace unicache {

namespace {
constexpr size_t kLookAhead = 8;
}

void EntryBatch::reset(size_t n)
{
    pointers_.resize(n);
    lengths_.resize(n);
    generations_.resize(n);
    hashed_.resize(n);
    answered_.assign(n, 0);
    digests_.clear();
    digest_at_.clear();
    index_.clear();
    next_same_.clear();
    cursor_ = 0;
}

void EntryBatch::digest(size_t i, size_t start, uint64_t generation)
{
    // Pointed to in seal(): digests_ may still move while it grows.
    digest_at_.emplace_back(i, start);
    lengths_[i] = digests_.size() - start;
    generations_[i] = generation;
    hashed_[i] = 1;
}

void EntryBatch::seal()
{
    for (const auto &d : digest_at_)
        pointers_[d.first] = digests_.data() + d.second;
}

size_t EntryBatch::search(Bytes reply)
{
    size_t n = size();
    for (size_t i = cursor_; i < n && i < cursor_ + kLookAhead; i++)
        if (!answered_[i] && name(i) == reply)
            return take(i);
    if (index_.empty())
        build_index();
    size_t mask = index_.size() - 1;
    for (size_t slot = hash_bytes(reply.data(), reply.size()) & mask; index_[slot];
         slot = (slot + 1) & mask) {
        size_t i = index_[slot] - 1;
        if (name(i) != reply)
            continue;
        for (; answered_[i]; i = next_same_[i] - 1)
            if (!next_same_[i])
                return npos;
        return take(i);
    }
    return npos;
}

void EntryBatch::build_index()
{
    size_t n = size();
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    index_.assign(cap, 0);
    next_same_.assign(n, 0);
    std::vector<uint32_t> last_same(n, 0); // the chain's tail, kept at its head
    for (size_t i = 0; i < n; i++) {
        for (size_t slot = hash_bytes(pointers_[i], lengths_[i]) & (cap - 1);;
             slot = (slot + 1) & (cap - 1)) {
            if (!index_[slot]) {
                index_[slot] = uint32_t(i + 1);
                last_same[i] = uint32_t(i + 1);
                break;
            }
            size_t head = index_[slot] - 1;
            if (name(head) == name(i)) {
                next_same_[last_same[head] - 1] = uint32_t(i + 1);
                last_same[head] = uint32_t(i + 1);
                break;
            }
        }
    }
}

} // namespace unicache
