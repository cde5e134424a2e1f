// Sha256: the digest that names a memcached item whose key is too long or
// not safe to send as is. Collision resistance is what matters here (a
// collision would make two keys share one item; the original key stored
// beside the value turns that into a miss, never a wrong answer).
#pragma once

#include <cstddef>
#include <cstdint>

namespace unicache {

struct Sha256Digest {
    unsigned char bytes[32];
};

Sha256Digest sha256(const void *data, size_t len);

} // namespace unicache
