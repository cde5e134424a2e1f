// DeadlineWatch: makes timeout_ms bound a whole memcached call, not each
// wait inside it.
//
// libmemcached waits for every piece of a reply in poll() with the handle's
// poll timeout, and starts that wait afresh after each piece: a server that
// trickles its reply one byte every 200 ms never trips a 300 ms timeout,
// and a 100-byte item takes 20 s (issue 10, item 4). libmemcached has no
// per-call deadline and no way to reach its sockets, but it reads the
// handle's poll_timeout and connect_timeout (public fields of memcached_st)
// anew before every wait. So each call gets a deadline when it takes its
// connection (ConnectionPool::Lease), and one watcher thread per pool keeps
// the handles of the calls in flight at what is left of their deadline:
// every `tick` it lowers their timeouts to the time remaining, and to 0 once
// the deadline has passed, which makes libmemcached's next wait fail at once
// with MEMCACHED_TIMEOUT. A wait that starts between two ticks is bounded by
// the remaining time at the last tick, so a call ends within timeout_ms plus
// one tick (timeout_ms / 8, at most 50 ms) of its start.
//
// The watcher writes the two int32 fields while the calling thread may be
// inside libmemcached reading them: our store is atomic (__atomic_store_n),
// libmemcached's load is a plain aligned 32-bit load made after an opaque
// poll() call, so it sees either value, never a torn one. Disarming takes
// the connection's watch lock, so the watcher never touches a handle
// between calls.
//
// The thread sleeps while no call is in flight: a call that starts then
// wakes it (one futex wake per idle period, not one per call). It belongs to
// the pool, which is per process (PerProcess): a forked child builds a pool
// and a watcher of its own.
#pragma once

#include <libmemcached/memcached.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace unicache {

struct Connection;

class DeadlineWatch {
public:
    // Watches the given connections (which outlive it) for calls bounded by
    // timeout_ms.
    DeadlineWatch(const std::vector<Connection *> &conns, int64_t timeout_ms);
    ~DeadlineWatch(); // stops and joins the watcher
    DeadlineWatch(const DeadlineWatch &) = delete;
    DeadlineWatch &operator=(const DeadlineWatch &) = delete;

    // A call starts on c (held by the calling thread): its deadline is
    // timeout_ms from now.
    void arm(Connection &c);
    // The call on c is over: the watcher leaves c's handle alone.
    static void disarm(Connection &c);

    int64_t timeout_ms() const { return timeout_ms_; }

private:
    void run();
    // Brings every armed handle's timeouts down to its remaining time;
    // whether any call was in flight.
    bool tick();

    std::vector<Connection *> conns_;
    const int64_t timeout_ms_;
    const int64_t tick_ms_;
    std::atomic<bool> idle_{false};
    bool stop_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread thread_;
};

} // namespace unicache
