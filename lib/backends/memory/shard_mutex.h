// ShardMutex: a lock that spins briefly before it sleeps, and that fork()
// never copies while it is held.
//
// A shard's critical sections are a few hundred nanoseconds (a lookup and a
// copy), far shorter than the futex sleep and wake-up a plain std::mutex
// pays on contention. Retrying try_lock for a few microseconds first lets a
// reader on another core wait out the holder without a system call; a
// holder that was descheduled still sends waiters to sleep.
//
// fork() copies a mutex as it is. One held by another thread at that moment
// stays held in the child, where that thread does not exist: the child's
// first call on that shard blocks forever. So every ShardMutex of the
// process is in one registry, and a pthread_atfork prepare handler takes
// them all (waiting out the critical sections in flight, which are short)
// before fork() copies memory; the parent and the child release them after
// it. Outer mutexes are taken before inner ones, which is the order the
// memory backend nests them in (its tag index, then a shard); no code holds
// two mutexes of the same rank. Registration costs a set insert at open and
// nothing per lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <pthread.h>
#include <unordered_set>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace unicache {

class ShardMutex {
public:
    enum class Rank { outer, inner };

    explicit ShardMutex(Rank rank = Rank::inner) : rank_(rank) { registry().add(this); }
    ~ShardMutex() { registry().remove(this); }
    ShardMutex(const ShardMutex &) = delete;
    ShardMutex &operator=(const ShardMutex &) = delete;

#if defined(__linux__)
    // A futex word instead of std::mutex (Drepper, "Futexes Are Tricky"):
    // 0 free, 1 held, 2 held with sleepers. Inline, an uncontended lock and
    // unlock are one atomic instruction each; pthread_mutex_trylock and
    // pthread_mutex_unlock cost ~60 instructions a get through the PLT
    // (callgrind, bench/memory_get). After fork() the child's unlock of a
    // word its parent held is an ordinary store (and a wake nobody hears).
    void lock()
    {
        uint32_t c = 0;
        if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire))
            return;
        for (int i = 0; i < kSpins; i++) {
            relax();
            c = 0;
            if (state_.load(std::memory_order_relaxed) == 0 &&
                state_.compare_exchange_strong(c, 1, std::memory_order_acquire))
                return;
        }
        // Sleep with the word at 2, so that the holder's unlock wakes us.
        while (state_.exchange(2, std::memory_order_acquire) != 0)
            syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
    }
    bool try_lock()
    {
        uint32_t c = 0;
        return state_.compare_exchange_strong(c, 1, std::memory_order_acquire);
    }
    void unlock()
    {
        if (state_.exchange(0, std::memory_order_release) == 2)
            syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
#else
    void lock()
    {
        for (int i = 0; i < kSpins; i++) {
            if (mu_.try_lock())
                return;
            relax();
        }
        mu_.lock();
    }
    bool try_lock()
    {
        return mu_.try_lock();
    }
    void unlock()
    {
        mu_.unlock();
    }
#endif

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

    // Every ShardMutex of the process, by rank; its own mutex is held from
    // the prepare handler to the parent and child handlers, so a mutex made
    // or destroyed by another thread during a fork() waits for it.
    class Registry {
    public:
        Registry() { pthread_atfork(&prepare, &release, &release); }
        void add(ShardMutex *m)
        {
            std::lock_guard<std::mutex> lock(mu_);
            set(m->rank_).insert(m);
        }
        void remove(ShardMutex *m)
        {
            std::lock_guard<std::mutex> lock(mu_);
            set(m->rank_).erase(m);
        }

    private:
        std::unordered_set<ShardMutex *> &set(Rank r) { return r == Rank::outer ? outer_ : inner_; }
        static void prepare()
        {
            Registry &r = registry();
            r.mu_.lock();
            for (ShardMutex *m : r.outer_)
                m->lock();
            for (ShardMutex *m : r.inner_)
                m->lock();
        }
        // In the child the thread that forked is the one that holds them.
        static void release()
        {
            Registry &r = registry();
            for (ShardMutex *m : r.inner_)
                m->unlock();
            for (ShardMutex *m : r.outer_)
                m->unlock();
            r.mu_.unlock();
        }
        std::mutex mu_;
        std::unordered_set<ShardMutex *> outer_, inner_;
    };
    static Registry &registry()
    {
        static Registry *r = new Registry(); // never destroyed: mutexes outlive static teardown
        return *r;
    }

#if defined(__linux__)
    std::atomic<uint32_t> state_{0};
#else
    std::mutex mu_;
#endif
    const Rank rank_;
};

} // namespace unicache
