// ShardMutex: a std::mutex that spins briefly before it sleeps.
//
// A shard's critical sections are a few hundred nanoseconds (a lookup and a
// copy), far shorter than the futex sleep and wake-up a plain std::mutex
// pays on contention. Retrying try_lock for a few microseconds first lets a
// reader on another core wait out the holder without a system call; a
// holder that was descheduled still sends waiters to sleep.
#pragma once

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace unicache {

class ShardMutex {
public:
    void lock()
    {
        for (int i = 0; i < kSpins; i++) {
            if (mu_.try_lock())
                return;
            relax();
        }
        mu_.lock();
    }
    bool try_lock() { return mu_.try_lock(); }
    void unlock() { mu_.unlock(); }

private:
    static constexpr int kSpins = 128;

    static void relax()
    {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }

    std::mutex mu_;
};

} // namespace unicache
