#include "redis_tracking.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/per_process.h"
#include "redis_backend.h"

namespace unicache {

namespace {

const char kChannel[] = "__redis__:invalidate";
constexpr int64_t kFirstBackoffMs = 50;
constexpr int64_t kMaxBackoffMs = 1000;

struct ReplyFree {
    void operator()(redisReply *r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

bool is_string(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

bool equals(const redisReply *r, const char *text)
{
    size_t n = std::strlen(text);
    return is_string(r) && r->len == n && strncasecmp(r->str, text, n) == 0;
}

std::string encode(std::initializer_list<Bytes> args)
{
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (Bytes a : args) {
        out += "$" + std::to_string(a.size()) + "\r\n";
        out.append(a.data(), a.size());
        out += "\r\n";
    }
    return out;
}

// Server text is quoted only from replies to commands that never carry the
// password (AUTH's own refusal is never quoted).
std::string quote(const redisReply *r)
{
    return r && r->str ? std::string(r->str, std::min<size_t>(r->len, 200)) : std::string();
}

} // namespace

RedisTracking::RedisTracking(const RedisOptions &opts, ChangeListener *listener, bool connect_now,
                             RedisLocator *locator)
    : opts_(opts), listener_(listener), locator_(locator)
{
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0)
        fail(CACHE_EIO,
             std::string("cannot create an eventfd for Redis tracking: ") + std::strerror(errno));
    bool connected = false;
    if (connect_now) {
        try {
            connect_and_subscribe();
            connected = true;
        } catch (const Error &e) {
            close_connection();
            std::lock_guard<std::mutex> lock(mu_);
            counts_.last_error = e.what();
        }
    }
    // The first word to the listener says where it stands (backend.h, 3).
    if (connected)
        go_live();
    else
        listener_->notifications_live(false);
    if (!supported_.load())
        return; // nothing will ever be live: no thread
    thread_ = std::thread([this, connected] {
        if (connected) {
            try {
                pump();
            } catch (const Error &e) {
                go_down(e.what());
            }
        }
        loop();
    });
}

RedisTracking::~RedisTracking()
{
    stop_.store(true);
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n; // an eventfd counter cannot overflow from one write
    if (thread_.joinable())
        thread_.join();
    close_connection();
    close(wake_fd_);
}

RedisTracking::Counts RedisTracking::counts() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
}

void RedisTracking::loop()
{
    int64_t backoff = kFirstBackoffMs;
    while (!stop_.load() && supported_.load()) {
        if (!nap(backoff))
            return;
        try {
            connect_and_subscribe();
        } catch (const Error &e) {
            close_connection();
            {
                std::lock_guard<std::mutex> lock(mu_);
                counts_.last_error = e.what();
            }
            log_event(CACHE_LOG_INFO, [&] {
                return std::string(e.what()) + "; invalidation connection retrying in " +
                       std::to_string(backoff) + " ms";
            });
            deliver_log();
            backoff = std::min(backoff * 2, kMaxBackoffMs);
            continue;
        }
        backoff = kFirstBackoffMs;
        go_live();
        deliver_log();
        try {
            pump();
        } catch (const Error &e) {
            go_down(e.what());
        }
        deliver_log();
    }
}

void RedisTracking::go_live()
{
    {
        // Counted first: whoever the listener wakes sees the counts.
        std::lock_guard<std::mutex> lock(mu_);
        counts_.live = true;
        counts_.subscribes++;
    }
    log_event(losses_seen_ ? CACHE_LOG_WARN : CACHE_LOG_DEBUG, [&] {
        return opts_.where + ": invalidation connection " +
               (losses_seen_ ? "restored; copies in the tiers above are flushed and used again"
                             : "live");
    });
    // Whatever was written while not live was never told (backend.h, 3).
    listener_->changed_all();
    listener_->notifications_live(true);
    live_ = true;
}

void RedisTracking::go_down(const std::string &why)
{
    close_connection();
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (counts_.live)
            counts_.losses++;
        counts_.live = false;
        counts_.last_error = why;
    }
    if (live_) {
        losses_seen_ = true;
        log_event(CACHE_LOG_WARN, [&] {
            return why + "; copies in the tiers above are bypassed until it is back";
        });
        // No flush here (backend.h, 3): the copies are bypassed, and
        // changed_all() comes before live again.
        live_ = false;
        listener_->notifications_live(false);
    }
}

bool RedisTracking::nap(int64_t ms)
{
    pollfd p = {wake_fd_, POLLIN, 0};
    while (poll(&p, 1, int(ms)) < 0 && errno == EINTR) {
    }
    return !stop_.load();
}

void RedisTracking::close_connection()
{
    if (ctx_)
        redisFree(ctx_);
    ctx_ = nullptr;
}

// ------------------------------------------------------------ the connection

namespace {

void send_all(redisContext *c, const std::string &bytes, const std::string &where)
{
    // MSG_NOSIGNAL: a socket the server closed never raises SIGPIPE.
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = send(c->fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail(CACHE_EUNAVAILABLE,
                 where + ": invalidation connection: send failed: " + std::strerror(errno));
        off += size_t(n);
    }
}

Reply next_reply(redisContext *c, const std::string &where, const char *what)
{
    void *raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || !raw)
        fail(c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                 ? CACHE_ETIMEOUT
                 : CACHE_EUNAVAILABLE,
             where + ": invalidation connection: " + what + ": " +
                 (c->err ? c->errstr : "no reply"));
    return Reply(static_cast<redisReply *>(raw));
}

} // namespace

void RedisTracking::connect_and_subscribe()
{
    timeval tv;
    tv.tv_sec = time_t(opts_.connect_timeout_ms / 1000);
    tv.tv_usec = suseconds_t((opts_.connect_timeout_ms % 1000) * 1000);
    std::string host = opts_.host;
    int port = opts_.port;
    if (locator_) {
        RedisEndpoint found = locator_->locate(
            monotonic_ns() + (opts_.connect_timeout_ms + opts_.timeout_ms) * 1000000);
        host = found.host;
        port = found.port;
    }
    ctx_ = opts_.unix_socket ? redisConnectUnixWithTimeout(opts_.socket_path.c_str(), tv)
                             : redisConnectWithTimeout(host.c_str(), port, tv);
    if (!ctx_)
        throw std::bad_alloc();
    if (ctx_->err)
        fail(CACHE_EUNAVAILABLE,
             opts_.where + ": invalidation connection: cannot connect: " + ctx_->errstr);
    tv.tv_sec = time_t(opts_.timeout_ms / 1000);
    tv.tv_usec = suseconds_t((opts_.timeout_ms % 1000) * 1000);
    if (redisSetTimeout(ctx_, tv) != REDIS_OK)
        fail(CACHE_EIO, opts_.where + ": invalidation connection: cannot set the socket timeout");
    if (!opts_.unix_socket)
        redisEnableKeepAlive(ctx_);

    // AUTH and CLIENT ID in one round trip. No SELECT: invalidations name
    // keys of every database alike.
    std::string req;
    if (opts_.auth)
        req = opts_.user.empty() ? encode({"AUTH", opts_.password})
                                 : encode({"AUTH", opts_.user, opts_.password});
    req += encode({"CLIENT", "ID"});
    send_all(ctx_, req, opts_.where);
    if (opts_.auth) {
        Reply r = next_reply(ctx_, opts_.where, "AUTH");
        if (r->type == REDIS_REPLY_ERROR)
            fail(CACHE_EAUTH, opts_.where + ": invalidation connection: the server refused "
                                            "the password");
    }
    Reply id = next_reply(ctx_, opts_.where, "CLIENT ID");
    if (id->type == REDIS_REPLY_ERROR)
        fail_unsupported_or(quote(id.get()), "CLIENT ID");
    if (id->type != REDIS_REPLY_INTEGER)
        fail(CACHE_EIO, opts_.where + ": invalidation connection: CLIENT ID: not an integer");

    std::string sid = std::to_string(id->integer);
    if (opts_.prefix.empty())
        req = encode({"CLIENT", "TRACKING", "on", "REDIRECT", sid, "BCAST"});
    else
        req =
            encode({"CLIENT", "TRACKING", "on", "REDIRECT", sid, "BCAST", "PREFIX", opts_.prefix});
    req += encode({"SUBSCRIBE", kChannel});
    send_all(ctx_, req, opts_.where);
    Reply on = next_reply(ctx_, opts_.where, "CLIENT TRACKING");
    Reply sub = next_reply(ctx_, opts_.where, "SUBSCRIBE");
    if (on->type == REDIS_REPLY_ERROR)
        fail_unsupported_or(quote(on.get()), "CLIENT TRACKING");
    if (sub->type != REDIS_REPLY_ARRAY || sub->elements < 1 ||
        !equals(sub->element[0], "subscribe"))
        fail(CACHE_EIO,
             opts_.where + ": invalidation connection: SUBSCRIBE: " +
                 (sub->type == REDIS_REPLY_ERROR ? quote(sub.get()) : "unexpected reply"));
    ping_sent_ms_ = 0;
    std::lock_guard<std::mutex> lock(mu_);
    counts_.client_id = id->integer;
}

void RedisTracking::fail_unsupported_or(const std::string &text, const char *what)
{
    // Redis 5 knows no CLIENT TRACKING, Redis 4 no CLIENT ID, and a server
    // may have CLIENT renamed away: none of them will ever push.
    if (text.find("nknown") != std::string::npos || text.find("yntax") != std::string::npos) {
        supported_.store(false);
        fail(CACHE_ENOTSUP, opts_.where + ": the server cannot track keys for this process (" +
                                what + ": " + text +
                                "); coherent L1 tiers over Redis need Redis 6 or later");
    }
    fail(CACHE_EIO, opts_.where + ": invalidation connection: " + what + ": " + text);
}

void RedisTracking::pump()
{
    const int64_t heartbeat = opts_.tracking_heartbeat_ms;
    int64_t heard_ms = monotonic_ms();
    for (;;) {
        // Everything already read first: poll() cannot see buffered replies.
        for (;;) {
            void *raw = nullptr;
            if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK)
                fail(CACHE_EIO,
                     opts_.where + ": invalidation connection: protocol error: " + ctx_->errstr);
            if (!raw)
                break;
            handle(raw);
        }
        deliver_log(); // the listener's lines (flushes); no lock is held here
        int64_t now = monotonic_ms();
        int64_t due = (ping_sent_ms_ ? ping_sent_ms_ : heard_ms) + heartbeat;
        if (now >= due) {
            if (ping_sent_ms_)
                fail(CACHE_ETIMEOUT, opts_.where +
                                         ": invalidation connection: no answer to "
                                         "the heartbeat PING within " +
                                         std::to_string(heartbeat) + " ms (tracking_heartbeat_ms)");
            send_all(ctx_, encode({"PING"}), opts_.where);
            ping_sent_ms_ = now;
            continue;
        }
        pollfd p[2] = {{ctx_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int n = poll(p, 2, int(due - now));
        if (n < 0 && errno != EINTR)
            fail(CACHE_EIO,
                 opts_.where + ": invalidation connection: poll: " + std::strerror(errno));
        if (stop_.load())
            return;
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (redisBufferRead(ctx_) != REDIS_OK)
                fail(CACHE_EUNAVAILABLE, opts_.where + ": invalidation connection lost: " +
                                             (ctx_->err ? ctx_->errstr : "closed"));
            heard_ms = monotonic_ms();
        }
    }
}

void RedisTracking::handle(void *raw)
{
    Reply r(static_cast<redisReply *>(raw));
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        fail(CACHE_EIO, opts_.where + ": invalidation connection: unexpected reply type " +
                            std::to_string(r->type));
    if (equals(r->element[0], "pong")) {
        ping_sent_ms_ = 0;
        return;
    }
    if (!equals(r->element[0], "message") || r->elements != 3)
        return; // (un)subscribe confirmations
    const redisReply *keys = r->element[2];
    uint64_t named = 0;
    bool flush = false;
    if (keys->type == REDIS_REPLY_NIL) {
        flush = true;
        listener_->changed_all();
    } else if (keys->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < keys->elements; i++) {
            if (is_string(keys->element[i])) {
                listener_->changed(Bytes(keys->element[i]->str, keys->element[i]->len));
                named++;
            }
        }
    } else if (is_string(keys)) {
        listener_->changed(Bytes(keys->str, keys->len));
        named++;
    }
    std::lock_guard<std::mutex> lock(mu_);
    counts_.messages++;
    counts_.keys += named;
    if (flush)
        counts_.flushes++;
}

} // namespace unicache

// ------------------------------------------------------------ the backend's hook

namespace unicache {

bool RedisBackend::watch_changes(ChangeListener *listener)
{
    if (tracking_)
        fail(CACHE_EINVAL, opts_.where + ": watch_changes() called twice");
    uint64_t parent = fork_generation();
    auto t = std::make_unique<PerProcess<RedisTracking>>([this, listener, parent] {
        // In a child, the first attempt is left to the thread: this runs
        // inside the first call there, which must not wait for it. Nor does
        // a lazy_connect handle's open wait for the server.
        bool now = fork_generation() == parent && !opts_.lazy_connect;
        return std::make_unique<RedisTracking>(opts_, listener, now, locator_.get());
    });
    if (!t->get().supported())
        return false;
    tracking_ = std::move(t);
    return true;
}

void RedisBackend::renew_tracking_in_child()
{
    if (tracking_)
        tracking_->get();
}

std::string RedisBackend::tracking_info()
{
    if (!tracking_)
        return "";
    RedisTracking::Counts n = tracking_->get().counts();
    std::string out;
    auto line = [&](const char *name, const std::string &v) { out += name + (":" + v + "\r\n"); };
    line("tracking", n.live ? "live" : "down");
    line("tracking_client_id", std::to_string(n.client_id));
    line("tracking_subscribes", std::to_string(n.subscribes));
    line("tracking_losses", std::to_string(n.losses));
    line("tracking_messages", std::to_string(n.messages));
    line("tracking_keys", std::to_string(n.keys));
    line("tracking_flushes", std::to_string(n.flushes));
    line("tracking_heartbeat_ms", std::to_string(opts_.tracking_heartbeat_ms));
    if (!n.last_error.empty())
        line("tracking_last_error", n.last_error);
    return out;
}

} // namespace unicache
