// RedisTracking: tells a ChangeListener which keys under the cache's prefix
// anyone changes on the server, with Redis 6's server-assisted client-side
// caching in its RESP2 form (hiredis 0.14 has no RESP3).
//
// One dedicated connection per process does it all: it asks for its own id
// (CLIENT ID), turns tracking on in broadcasting mode with invalidations
// redirected to itself (CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX
// <prefix>), and subscribes to __redis__:invalidate. In BCAST mode the
// server tells every client that registered a prefix about every write to a
// key under it, whether or not that client ever read the key, so the data
// connections of the pool need no tracking at all: they come and go, and
// reconnect, without any redirect to keep in step, and a new subscriber
// connection (whose id is new) redirects to itself again.
//
// The server sends the changed keys as arrays of names ("message" on the
// channel), and a nil instead of the array for FLUSHDB/FLUSHALL (changed_all).
// The server sends a write's invalidation at the end of the event-loop turn
// that ran the write; only the flight to this process, on a connection of
// its own, separates it from the replies to reads (so the notification may
// overtake a reply: hence the fill tickets of core/backend.h).
//
// Liveness: when the connection has been quiet for heartbeat_ms, it sends a
// PING; no answer within heartbeat_ms more, or a lost connection, and
// notifications are not live (notifications_live(false): the L1 above is
// bypassed) until it has subscribed again: the thread retries with a
// backoff from 50 ms up to 1 s, then calls changed_all() and
// notifications_live(true). So a dead or stalled invalidation connection is
// noticed within 2 * heartbeat_ms, while the data connections may still
// work.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/backend.h"
#include "redis_options.h"

struct redisContext;

namespace unicache {

class RedisLocator;

class RedisTracking {
public:
    // Starts watching for listener (which outlives this object).
    // connect_now: make the first attempt in the calling thread, so that
    // supported() is known when the constructor returns (a forked child
    // passes false: its first attempt happens in the background).
    // locator: where the server is when it can move (Sentinel), asked
    // before each connection; nullptr for the one opts names.
    RedisTracking(const RedisOptions &opts, ChangeListener *listener, bool connect_now,
                  RedisLocator *locator = nullptr);
    // Stops the thread; waits for at most one connect or handshake in
    // progress (connect_timeout_ms + timeout_ms).
    ~RedisTracking();
    RedisTracking(const RedisTracking &) = delete;
    RedisTracking &operator=(const RedisTracking &) = delete;

    // False once the server has said it has no CLIENT TRACKING (before
    // Redis 6): notifications then never become live, and the thread stops.
    bool supported() const { return supported_.load(); }

    struct Counts {
        bool live = false;
        int64_t client_id = 0;   // the invalidation connection's CLIENT ID
        uint64_t subscribes = 0; // successful (re)subscriptions
        uint64_t messages = 0;   // invalidation messages received
        uint64_t keys = 0;       // keys named by them
        uint64_t flushes = 0;    // nil messages (FLUSHDB / FLUSHALL)
        uint64_t losses = 0;     // live -> not live transitions
        std::string last_error;  // why it last went down; never a password
    };
    Counts counts() const;

private:
    // One connection's life: connect, subscribe, then pump messages until
    // it fails or stop_ is set. Throws Error on failure.
    void connect_and_subscribe();
    void pump();
    void loop();
    void go_live();
    void go_down(const std::string &why);
    // Waits ms or until stopped; false when stopped.
    bool nap(int64_t ms);
    void close_connection();
    void handle(void *reply);
    // Throws for an error reply to the handshake: CACHE_ENOTSUP (and no
    // more attempts) when the server has no such command, else CACHE_EIO.
    [[noreturn]] void fail_unsupported_or(const std::string &text, const char *what);

    const RedisOptions &opts_;
    ChangeListener *listener_;
    RedisLocator *locator_;
    int wake_fd_ = -1; // eventfd: stop() wakes poll()
    redisContext *ctx_ = nullptr;
    std::atomic<bool> stop_{false};
    std::atomic<bool> supported_{true};
    bool live_ = false;        // the thread's own view
    bool losses_seen_ = false; // live was lost once: the next live is a recovery
    int64_t ping_sent_ms_ = 0; // 0: no PING outstanding

    mutable std::mutex mu_; // guards counts_
    Counts counts_;
    std::thread thread_;
};

} // namespace unicache
