// TextGetSocket: a socket of our own to one memcached server (TCP or Unix),
// used for one thing only: the single-key "get" of the text protocol.
//
// Why not libmemcached: it sleeps in poll() for every reply, and the wake-up
// is a large part of a loopback round trip (and its get path runs about
// 3,000 more user-space instructions per call than this one, callgrind).
// Here the reply is first awaited by calling a
// non-blocking recv() in a loop for a short budget, with sched_yield()
// between tries, then in poll() like libmemcached. The yield matters: on a
// 2-vCPU VM a plain spin kept memcached's own thread off our CPU and made
// gets slower than libmemcached (0.81x); yielding made them faster (1.08x,
// against 1.04x for poll() alone), because a woken memcached thread placed
// on our CPU runs at once.
//
//  - the budget adapts: an EWMA of this socket's round trips is kept, and
//    the thread spins only while that average is at most spin_ns, for
//    2 x average capped at spin_ns. A server that answers slower than
//    spin_ns (LAN, WAN, an overloaded host) is never spun on: its gets cost
//    one send, one poll and one recv, as with libmemcached. The first get
//    of a socket only measures (no spinning).
//  - spin_ns 0 never spins (the choice for CPU-constrained hosts).
//
// It is only an optimisation, and never the one to report a problem: on any
// failure (refused or lost connection, EOF, a reply it does not expect,
// SERVER_ERROR, an item over 1 GiB) it closes the socket and says kFailed,
// and the caller repeats the get through libmemcached, which keeps
// reporting errors, retrying and ejecting servers exactly as without it.
// Only a wait that already took the whole timeout is reported (kTimedOut),
// so that a timeout is not waited for twice. After a failure the next 1, 2,
// 4, ... up to 1024 gets (doubling while failures continue) go to
// libmemcached, and the socket is not tried again before libmemcached has
// answered a get from that server: a dead server's retry and ejection stay
// libmemcached's, and no connect() is tried on a server it holds as down.
//
// One thread at a time: it lives in a pool Connection. The pool is per
// process (PerProcess), so a forked child never reaches its parent's socket.
#pragma once

#include <libmemcached/memcached.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace unicache {

class TextGetSocket {
public:
    enum Outcome { kHit, kMiss, kFailed, kTimedOut };

    // What the socket has done, for cache_backend_info. Written only by the
    // thread holding the connection; read by anyone.
    struct Counters {
        std::atomic<uint64_t> served{0};    // gets answered here (hits and misses)
        std::atomic<uint64_t> spun{0};      // of those, gets that spun at all
        std::atomic<uint64_t> failed{0};    // gets repeated through libmemcached
        std::atomic<uint64_t> timed_out{0}; // gets reported as timeouts
    };

    TextGetSocket();
    ~TextGetSocket();
    TextGetSocket(const TextGetSocket &) = delete;
    TextGetSocket &operator=(const TextGetSocket &) = delete;

    // Whether this get may be tried here. False while backing off after a
    // failure (each call counts one get left to libmemcached).
    bool turn();

    // libmemcached answered a get from this server without an error.
    void server_answered() { answered_ = true; }
    // libmemcached failed a call to this server: leave it gets until it
    // answers one again.
    void server_failed() { answered_ = false; }

    // Sends "get <name>" (a memcached key, at most 250 bytes) and reads the
    // reply. On kHit, *flags and *item hold the item (item points into this
    // socket's buffer, valid until the next call). Connecting and the whole
    // reply must be done by deadline_ns (monotonic), however the reply
    // arrives: a server trickling it a byte at a time costs no more than a
    // silent one (kTimedOut). Spins up to spin_ns first (see above).
    Outcome get(const memcached_instance_st *server, Bytes name, int64_t deadline_ns,
                int64_t spin_ns, uint32_t *flags, Bytes *item);

    // Sends request (one or more meta commands, each ending in "\r\n") and
    // reads `replies` responses into *reply, as sent: each response line,
    // and for a "VA <size> ..." line its data block and "\r\n" too. kHit
    // when every response arrived; on anything else the socket is closed
    // and kFailed or kTimedOut returned (the caller reports it: leases have
    // no libmemcached path to fall back on). Used by memcached_leases.cpp.
    Outcome exchange(const memcached_instance_st *server, Bytes request, size_t replies,
                     int64_t deadline_ns, std::string *reply);

    const Counters &counters() const { return counters_; }
    // Whether a connection is open (a new one may need a login first).
    bool connected() const { return fd_ >= 0; }

private:
    Outcome open(const memcached_instance_st *server, int64_t deadline_ns);
    // recv() into the buffer from `at` on, waiting as described above until
    // spin_until_ns (0: no spinning) and then in poll() until deadline_ns.
    // Returns the bytes read, or 0 with *why set.
    size_t receive(size_t at, int64_t spin_until_ns, int64_t deadline_ns, Outcome *why);
    Outcome give_up(Outcome why);
    void close_fd();
    static void bump(std::atomic<uint64_t> &n)
    {
        n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    int fd_ = -1;
    int64_t rtt_ns_ = 0;    // EWMA of the time to the first byte of a reply; 0: none yet
    unsigned strikes_ = 0;  // failures in a row
    unsigned skip_ = 0;     // gets still left to libmemcached after the last failure
    bool answered_ = true;  // libmemcached answered this server since the last failure
    std::vector<char> buf_; // the reply being read
    Counters counters_;
};

} // namespace unicache
