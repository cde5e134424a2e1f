// One freed copy-out buffer kept per thread for the next hit.
//
// A memory:// hit copies its value into a fresh malloc'd buffer that the
// caller gives back with cache_buf_free(); glibc's malloc and free of it
// were ~137 of a hit's ~600 instructions (callgrind, bench/memory_get).
// A caller that reads values one at a time (get, use, free, get...) frees
// the buffer the next hit needs: so cache_buf_free keeps one block of up to
// kSpareMax bytes per thread instead of freeing it, and the next copy-out
// that fits takes it back. The block is a malloc'd one and is freed when
// its thread ends (a pthread key), so nothing leaks and free() of any
// buffer the library returns stays correct. On under the sanitizers too,
// so that they check this path (a read of a freed buffer that became the
// spare is then not reported: the price of testing what ships).
#pragma once

#include <cstddef>

namespace unicache {

constexpr size_t kSpareMax = 4096;

namespace spare_detail {
struct Spare {
    void *block; // malloc'd, or nullptr
    size_t size; // its usable bytes
    int state;   // 0: thread not yet registered; 1: registered; 2: thread ending
};
extern __thread Spare t_spare __attribute__((tls_model("initial-exec")));
void keep_slow(void *p, size_t size) noexcept;
} // namespace spare_detail

// This thread's spare block when it holds at least n bytes (the caller owns
// it from here, as if malloc'd), else nullptr.
inline void *take_spare(size_t n)
{
    spare_detail::Spare &s = spare_detail::t_spare;
    void *p = s.block;
    if (p && n <= s.size) {
        s.block = nullptr;
        return p;
    }
    return nullptr;
}

// free(p), or keeps p as this thread's spare block. p: malloc'd, or NULL;
// size: the bytes it was allocated with, as far as the caller knows (the
// block is reused for at most min(size, malloc_usable_size(p)) bytes, so
// that a checker such as valgrind never sees a write past a request).
void release_buffer(void *p, size_t size) noexcept;

} // namespace unicache
