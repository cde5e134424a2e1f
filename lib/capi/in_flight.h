// Which handles each thread is inside a call on, so that cache_close can
// wait for the calls in flight on other threads before it frees the handle.
//
// The hot path must stay cheap: one shared counter per handle would bounce
// its cache line between the cores on every get. So each thread owns a
// record and writes only its own record, with plain stores (no atomic
// read-modify-write, no fence). The closer, which is rare, pays instead: a
// process-wide barrier (membarrier(2), private expedited) makes every
// thread's stores visible and orders them, then it scans the records and
// waits until none of them names the handle. Where membarrier is refused
// (an old kernel, a seccomp filter), every enter adds a full fence.
#pragma once

#include <atomic>
#include <cstddef>

namespace unicache {

class InFlight;

namespace in_flight_detail {

// Records are never freed: a thread that ends gives its record back for the
// next thread to claim, so the closer can walk the list without a lock.
// A nested call (a callback inside a call calling another handle) leaves
// `inside` naming the outer handle and counts in the inner one's shared
// counter instead.
struct alignas(64) ThreadRecord {
    std::atomic<const InFlight *> inside{nullptr}; // written by its thread only
    std::atomic<bool> claimed{false};
    ThreadRecord *next = nullptr; // set once, before the record is published
};

// The calling thread's record, claimed on first use; nullptr only when it
// cannot be allocated.
ThreadRecord *attach_thread() noexcept;
// __thread, not thread_local: no TLS init wrapper on every access; and
// initial-exec, so the shared library reads it at a fixed offset from %fs
// instead of calling __tls_get_addr (8 bytes of glibc's static TLS surplus,
// which a dlopen()ed library such as the Python module may use).
extern __thread ThreadRecord *t_record __attribute__((tls_model("initial-exec")));
extern std::atomic<bool> g_fence_on_enter;

} // namespace in_flight_detail

// One per handle; InFlightCall brackets every call on it, wait_idle()
// returns once no other thread is inside one.
class InFlight {
public:
    InFlight() = default;
    InFlight(const InFlight &) = delete;
    InFlight &operator=(const InFlight &) = delete;

    // Waits until no thread but the caller is inside a call on this handle.
    // A call that starts meanwhile is the caller's bug (documented on
    // cache_close); it may or may not be waited for.
    void wait_idle() const noexcept;

private:
    friend class InFlightCall;
    // Nested calls, and calls on a thread without a record.
    std::atomic<long> overflow_{0};
};

// RAII bracket for one call: plain loads and stores on the thread's own
// record, no atomic read-modify-write (about 10 instructions beside the
// ~380 of a memory:// hit).
class InFlightCall {
public:
    explicit InFlightCall(InFlight *f) noexcept : f_(f)
    {
        using namespace in_flight_detail;
        if (!f)
            return;
        ThreadRecord *r = t_record;
        if (__builtin_expect(!r, 0))
            r = attach_thread();
        if (__builtin_expect(!r || r->inside.load(std::memory_order_relaxed), 0)) {
            f->overflow_.fetch_add(1, std::memory_order_seq_cst);
            return;
        }
        r_ = r;
        r->inside.store(f, std::memory_order_relaxed);
        // The closer's membarrier() orders this store before the call's
        // reads of the handle; without it, a full fence does.
        if (__builtin_expect(g_fence_on_enter.load(std::memory_order_relaxed), 0))
            std::atomic_thread_fence(std::memory_order_seq_cst);
        else
            std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    ~InFlightCall()
    {
        if (r_) {
            // Release: what this call did to the handle happens before a
            // closer that reads the cleared slot.
            r_->inside.store(nullptr, std::memory_order_release);
        } else if (f_) {
            f_->overflow_.fetch_sub(1, std::memory_order_release);
        }
    }
    InFlightCall(const InFlightCall &) = delete;
    InFlightCall &operator=(const InFlightCall &) = delete;

private:
    InFlight *f_;
    in_flight_detail::ThreadRecord *r_ = nullptr;
};

} // namespace unicache
