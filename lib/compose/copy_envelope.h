// The tiers above the lowest hold copies, not originals: each copy carries,
// in front of the value, the moment it stops being fresh (wall clock, Unix
// ms; 0: never). The copy itself is stored to live stale_if_error longer,
// so that while the lowest tier is down it can still be served, and while
// it is up a copy past its moment is a miss.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "core/bytes.h"

namespace unicache {

constexpr size_t kCopyHeader = 8;

// The envelope for value, in a thread-local buffer valid until the next call
// on this thread.
inline Bytes wrap_copy(Bytes value, int64_t fresh_until_ms)
{
    thread_local std::string scratch;
    scratch.resize(kCopyHeader + value.size());
    std::memcpy(&scratch[0], &fresh_until_ms, kCopyHeader);
    if (!value.empty())
        std::memcpy(&scratch[kCopyHeader], value.data(), value.size());
    return scratch;
}

// Strips the envelope in place. False when the bytes are not one (then the
// copy is treated as absent).
inline bool unwrap_copy(OwnedBuffer *copy, int64_t *fresh_until_ms)
{
    if (copy->size() < kCopyHeader)
        return false;
    std::memcpy(fresh_until_ms, copy->data(), kCopyHeader);
    copy->drop_front(kCopyHeader);
    return true;
}

} // namespace unicache
