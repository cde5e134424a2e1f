#include "redis_connection.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <new>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis.h>

#include "core/clock.h"
#include "core/counter_text.h"

namespace unicache {

namespace {

// Arguments at least this long are sent from the caller's memory.
constexpr size_t kReferenceAtLeast = 16 * 1024;
// A scratch buffer grown past this by one large request is given back.
constexpr size_t kScratchKeep = 256 * 1024;
// What one recv() may bring: a GET of a 100-byte value is ~110 bytes, a
// pipelined batch reply arrives in pieces of this size.
constexpr size_t kReceiveChunk = 16 * 1024;
// The keepalive hiredis's redisEnableKeepAlive() sets: dead peers of idle
// connections are found after about a minute.
constexpr int kKeepAliveIdleS = 15;

// Milliseconds for poll() to wait until deadline_ns, rounded up so that a
// wait never ends just short of the deadline.
int poll_ms(int64_t now_ns, int64_t deadline_ns)
{
    int64_t left = deadline_ns - now_ns;
    if (left <= 0)
        return 0;
    return int(std::min<int64_t>((left + 999999) / 1000000, INT_MAX));
}

// Waits for a non-blocking connect() to finish, for up to timeout_ms.
// 0 on success, else the errno (ETIMEDOUT when the time ran out).
int finish_connect(int fd, int64_t timeout_ms)
{
    int64_t deadline = monotonic_ns() + timeout_ms * 1000000;
    for (;;) {
        pollfd p{fd, POLLOUT, 0};
        int n = poll(&p, 1, poll_ms(monotonic_ns(), deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return ETIMEDOUT;
        if (n < 0)
            return errno;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return errno;
        return err;
    }
}

// A connected non-blocking socket to addr, or -1 with *err set.
int connect_to(const sockaddr *addr, socklen_t len, int64_t timeout_ms, int *err)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    *err = 0;
    if (connect(fd, addr, len) != 0) {
        *err = errno == EINPROGRESS || errno == EAGAIN ? finish_connect(fd, timeout_ms) : errno;
        if (*err) {
            ::close(fd);
            return -1;
        }
    }
    if (addr->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Best effort: finds dead peers of idle connections.
        int idle = kKeepAliveIdleS, interval = kKeepAliveIdleS / 3, count = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
    return fd;
}

bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = std::strlen(prefix);
    return len >= n && std::memcmp(text, prefix, n) == 0;
}

// ------------------------------------------------------------- replies
//
// hiredis's default reply functions allocate a reply and, separately, its
// string; these put both in one block, share one static nil, and honour the
// connection's RedisReplySink. They are called from C: nothing may throw.

redisReply g_sunk = {REDIS_REPLY_STRING, 0, 0, nullptr, 0, nullptr}; // went to a sink
redisReply g_nil = {REDIS_REPLY_NIL, 0, 0, nullptr, 0, nullptr};

void free_reply(void *p)
{
    auto *r = static_cast<redisReply *>(p);
    if (!r || r == &g_sunk || r == &g_nil)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->element) {
        for (size_t i = 0; i < r->elements; i++)
            free_reply(r->element[i]);
        std::free(r->element);
    }
    std::free(r);
}

void *link_reply(const redisReadTask *task, redisReply *r)
{
    if (task->parent)
        static_cast<redisReply *>(task->parent->obj)->element[task->idx] = r;
    return r;
}

redisReply *new_reply(int type, size_t extra)
{
    auto *r = static_cast<redisReply *>(std::calloc(1, sizeof(redisReply) + extra));
    if (r)
        r->type = type;
    return r;
}

void *create_string(const redisReadTask *task, char *str, size_t len)
{
    auto *sink = static_cast<RedisReplySink *>(task->privdata);
    if (sink && sink->count && task->type == REDIS_REPLY_STRING) {
        // The reply itself (GET), or an element of a top-level array (MGET).
        size_t i = !task->parent ? 0 : !task->parent->parent ? size_t(task->idx) : SIZE_MAX;
        if (i < sink->count) {
            try {
                sink->values[i].assign(str, len);
            } catch (...) {
                return nullptr; // hiredis reports out of memory
            }
            sink->statuses[i] = CACHE_OK;
            return link_reply(task, &g_sunk);
        }
    }
    redisReply *r = new_reply(task->type, len + 1);
    if (!r)
        return nullptr;
    char *bytes = reinterpret_cast<char *>(r + 1);
    std::memcpy(bytes, str, len);
    bytes[len] = '\0';
    r->str = bytes;
    r->len = len;
    return link_reply(task, r);
}

void *create_array(const redisReadTask *task, int elements)
{
    redisReply *r = new_reply(REDIS_REPLY_ARRAY, 0);
    if (!r)
        return nullptr;
    if (elements > 0) {
        r->element =
            static_cast<redisReply **>(std::calloc(size_t(elements), sizeof(redisReply *)));
        if (!r->element) {
            std::free(r);
            return nullptr;
        }
    }
    r->elements = size_t(elements > 0 ? elements : 0);
    return link_reply(task, r);
}

void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_reply(REDIS_REPLY_INTEGER, 0);
    if (!r)
        return nullptr;
    r->integer = value;
    return link_reply(task, r);
}

void *create_nil(const redisReadTask *task)
{
    return link_reply(task, &g_nil);
}

redisReplyObjectFunctions g_reply_functions = {create_string, create_array, create_integer,
                                               create_nil, free_reply};

} // namespace

void RedisReplyDeleter::operator()(redisReply *r) const
{
    free_reply(r);
}

std::unique_ptr<RedisConnection>
RedisConnection::open(const RedisOptions &opts, int64_t deadline_ns, const RedisEndpoint *endpoint)
{
    std::unique_ptr<RedisConnection> conn(new RedisConnection(opts));
    conn->host_ = endpoint ? endpoint->host : opts.host;
    conn->port_ = endpoint ? endpoint->port : opts.port;
    conn->where_ = endpoint ? endpoint->where : opts.where;
    conn->reader_ = redisReaderCreateWithFunctions(&g_reply_functions);
    if (!conn->reader_)
        throw std::bad_alloc();
    conn->reader_->privdata = &conn->sink_;
    conn->in_.resize(kReceiveChunk);
    int64_t started = monotonic_ns();
    conn->connect_socket();
    conn->deadline_ns_ = deadline_ns + (monotonic_ns() - started);
    conn->handshake();
    conn->last_used_ms = monotonic_ms();
    return conn;
}

void RedisConnection::connect_socket()
{
    int err = 0;
    std::string why;
    if (opts_.unix_socket) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (opts_.socket_path.size() >= sizeof un.sun_path)
            throw RedisIoError(CACHE_EUNAVAILABLE,
                               where_ + ": cannot connect: the socket path is too long", false);
        std::memcpy(un.sun_path, opts_.socket_path.c_str(), opts_.socket_path.size() + 1);
        fd_ = connect_to(reinterpret_cast<sockaddr *>(&un), sizeof un, opts_.connect_timeout_ms,
                         &err);
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo *found = nullptr;
        std::string port = std::to_string(port_);
        int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &found);
        if (rc != 0)
            throw RedisIoError(CACHE_EUNAVAILABLE,
                               where_ + ": cannot connect: " +
                                   (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)),
                               false);
        // Each address in turn, as hiredis did; a timeout ends the search.
        for (addrinfo *a = found; a && fd_ < 0 && err != ETIMEDOUT; a = a->ai_next)
            fd_ = connect_to(a->ai_addr, a->ai_addrlen, opts_.connect_timeout_ms, &err);
        freeaddrinfo(found);
    }
    if (fd_ >= 0)
        return;
    if (err == ETIMEDOUT)
        throw RedisIoError(CACHE_ETIMEOUT,
                           where_ + ": could not connect within " +
                               std::to_string(opts_.connect_timeout_ms) +
                               " ms (connect_timeout_ms)",
                           false);
    if (err == ENOMEM || err == ENOBUFS)
        throw std::bad_alloc();
    throw RedisIoError(CACHE_EUNAVAILABLE,
                       where_ + ": cannot connect: " + std::strerror(err ? err : EIO), false);
}

RedisConnection::~RedisConnection()
{
    if (fd_ >= 0)
        ::close(fd_);
    if (reader_)
        redisReaderFree(reader_);
}

void RedisConnection::handshake()
{
    // AUTH and SELECT travel together: one round trip per new connection.
    if (opts_.auth) {
        if (opts_.user.empty())
            command({"AUTH", opts_.password});
        else
            command({"AUTH", opts_.user, opts_.password});
    }
    if (opts_.db) {
        command(2);
        arg("SELECT");
        arg(opts_.db);
    }
    if (opts_.readonly)
        command({"READONLY"});
    if (opts_.expect_master)
        command({"ROLE"});
    if (opts_.auth) {
        RedisReply r = reply("AUTH");
        if (r->type == REDIS_REPLY_ERROR) {
            std::string who = opts_.user.empty() ? "" : " for user '" + opts_.user + "'";
            std::string text = redact(std::string(r->str, r->len));
            mark_broken();
            fail(CACHE_EAUTH,
                 where_ + ": the server refused the password" + who + " (" + text + ")");
        }
    }
    if (opts_.db) {
        RedisReply r = reply("SELECT");
        if (r->type == REDIS_REPLY_ERROR) {
            std::string text = redact(std::string(r->str, r->len));
            mark_broken();
            if (starts_with(r->str, r->len, "ERR DB index"))
                fail(CACHE_EINVAL, where_ + ": database " + std::to_string(opts_.db) +
                                       " does not exist on this server (" + text +
                                       "; see 'databases' in redis.conf)");
            fail_reply(r.get(), "SELECT");
        }
    }
    if (opts_.readonly)
        status("READONLY");
    if (opts_.expect_master) {
        RedisReply r = checked("ROLE");
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            r->element[0]->type != REDIS_REPLY_STRING)
            fail_type(r.get(), "ROLE", "an array");
        std::string role(r->element[0]->str, r->element[0]->len);
        if (role != "master") {
            mark_broken();
            // Not executed anywhere: the caller may look for the master again.
            throw RedisIoError(CACHE_EUNAVAILABLE,
                               where_ + ": the server is a " + role + " now, not the master",
                               false);
        }
    }
}

// ------------------------------------------------------------- encoding

void RedisConnection::put(const char *p, size_t n)
{
    scratch_.append(p, n);
}

void RedisConnection::put_header(char type, uint64_t n)
{
    char buf[24];
    buf[0] = type;
    size_t len = 1 + format_counter(int64_t(n), buf + 1);
    buf[len++] = '\r';
    buf[len++] = '\n';
    put(buf, len);
}

void RedisConnection::command(size_t argc)
{
    if (asking_ || hidden_head_ < hidden_.size()) {
        if (asking_ && !in_multi_) {
            static const char kAsking[] = "*1\r\n$6\r\nASKING\r\n";
            put(kAsking, sizeof kAsking - 1);
            pending_++;
            unsent_++;
            hidden_.push_back(1);
        }
        hidden_.push_back(0);
        name_next_ = asking_;
    }
    put_header('*', argc);
    pending_++;
    unsent_++;
}

void RedisConnection::arg(Bytes a)
{
    if (name_next_) {
        name_next_ = false;
        if (a == Bytes("MULTI"))
            in_multi_ = true;
        else if (a == Bytes("EXEC") || a == Bytes("DISCARD"))
            in_multi_ = false;
    }
    put_header('$', a.size());
    if (a.size() >= kReferenceAtLeast) {
        if (scratch_.size() > run_start_)
            segments_.push_back({nullptr, run_start_, scratch_.size() - run_start_});
        segments_.push_back({a.data(), 0, a.size()});
        run_start_ = scratch_.size();
    } else {
        put(a.data(), a.size());
    }
    put("\r\n", 2);
}

void RedisConnection::arg(int64_t v)
{
    char digits[24];
    size_t n = format_counter(v, digits);
    arg(Bytes(digits, n));
}

void RedisConnection::command(std::initializer_list<Bytes> args)
{
    command(args.size());
    for (Bytes a : args)
        arg(a);
}

void RedisConnection::command(const char *name, const Bytes *args, size_t n)
{
    command(n + 1);
    arg(name);
    for (size_t i = 0; i < n; i++)
        arg(args[i]);
}

// ------------------------------------------------------------- I/O

void RedisConnection::flush(const char *what)
{
    if (scratch_.size() > run_start_)
        segments_.push_back({nullptr, run_start_, scratch_.size() - run_start_});
    std::vector<iovec> &iov = iov_;
    iov.clear();
    for (const Segment &s : segments_) {
        const char *base = s.ext ? s.ext : scratch_.data() + s.offset;
        iov.push_back({const_cast<char *>(base), s.len});
    }
    size_t first = 0;
    bool wrote_any = false;
    while (first < iov.size()) {
        msghdr msg{};
        msg.msg_iov = iov.data() + first;
        msg.msg_iovlen = std::min<size_t>(iov.size() - first, IOV_MAX);
        ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait_for(POLLOUT, what, wrote_any); // the socket buffer is full
                continue;
            }
            fail_io(what, errno, wrote_any);
        }
        wrote_any = true;
        size_t left = size_t(n);
        while (left && left >= iov[first].iov_len)
            left -= iov[first++].iov_len;
        if (left) {
            iov[first].iov_base = static_cast<char *>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
        while (first < iov.size() && iov[first].iov_len == 0)
            first++;
    }
    segments_.clear();
    run_start_ = 0;
    if (scratch_.capacity() > kScratchKeep)
        std::string().swap(scratch_);
    else
        scratch_.clear();
    unsent_ = 0;
    sent_ns_ = monotonic_ns();
}

void RedisConnection::wait_for(short events, const char *what, bool maybe_executed)
{
    for (;;) {
        int64_t now = monotonic_ns();
        if (now >= deadline_ns_)
            fail_timeout(what, maybe_executed);
        pollfd p{fd_, events, 0};
        int n = poll(&p, 1, poll_ms(now, deadline_ns_));
        if (n > 0)
            return; // ready, or an error the next recv()/sendmsg() reports
        if (n < 0 && errno != EINTR)
            fail_io(what, errno, maybe_executed);
    }
}

void RedisConnection::receive(const char *what, bool measure)
{
    int64_t spin_ns = opts_.spin_us * 1000;
    int64_t spin_until = 0;
    if (measure && spin_ns > 0 && rtt_ns_ > 0 && rtt_ns_ <= spin_ns)
        spin_until = sent_ns_ + std::min(2 * rtt_ns_, spin_ns);
    for (;;) {
        if (!spin_until)
            wait_for(POLLIN, what, true);
        ssize_t n = recv(fd_, in_.data(), in_.size(), MSG_DONTWAIT);
        if (n > 0) {
            if (measure) {
                int64_t rtt = monotonic_ns() - sent_ns_;
                rtt_ns_ = rtt_ns_ ? rtt_ns_ + (rtt - rtt_ns_) / 8 : rtt;
            }
            if (redisReaderFeed(reader_, in_.data(), size_t(n)) != REDIS_OK)
                throw std::bad_alloc();
            return;
        }
        if (n == 0)
            fail_io(what, ECONNRESET, true); // the server closed the connection
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail_io(what, errno, true);
        if (spin_until) {
            if (monotonic_ns() < spin_until && monotonic_ns() < deadline_ns_)
                sched_yield();
            else
                spin_until = 0;
        }
    }
}

RedisReply RedisConnection::reply(const char *what)
{
    while (hidden_head_ < hidden_.size()) {
        char hidden = hidden_[hidden_head_++];
        if (hidden_head_ == hidden_.size()) {
            hidden_.clear();
            hidden_head_ = 0;
        }
        if (!hidden)
            break;
        // An ASKING's +OK. Were it an error, the command's own reply says
        // what went wrong (another redirection).
        RedisReplySink armed = sink_;
        sink_ = RedisReplySink();
        next_reply("ASKING");
        sink_ = armed;
    }
    return next_reply(what);
}

RedisReply RedisConnection::next_reply(const char *what)
{
    if (unsent_)
        flush(what);
    void *raw = nullptr;
    // Only the first read after our own write says how long a round trip is.
    bool measure = sent_ns_ != 0;
    for (;;) {
        if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
            sink_ = RedisReplySink();
            if (reader_->err == REDIS_ERR_OOM)
                throw std::bad_alloc();
            mark_broken();
            throw RedisIoError(CACHE_EIO,
                               where_ + ": " + what + ": protocol error: " + reader_->errstr, true);
        }
        if (raw)
            break;
        try {
            receive(what, measure);
        } catch (...) {
            sink_ = RedisReplySink();
            throw;
        }
        measure = false;
    }
    sent_ns_ = 0;
    sink_ = RedisReplySink();
    pending_--;
    return RedisReply(static_cast<redisReply *>(raw));
}

RedisReply RedisConnection::checked(const char *what)
{
    RedisReply r = reply(what);
    if (r->type == REDIS_REPLY_ERROR)
        fail_reply(r.get(), what);
    return r;
}

RedisReply RedisConnection::typed(const char *what, int type, const char *expected)
{
    RedisReply r = checked(what);
    if (r->type != type)
        fail_type(r.get(), what, expected);
    return r;
}

void RedisConnection::fail_type(const redisReply *r, const char *what, const char *expected) const
{
    throw RedisIoError(CACHE_EIO,
                       where_ + ": " + what + ": unexpected reply type " + std::to_string(r->type) +
                           " (expected " + expected + ")",
                       true);
}

bool RedisConnection::is_error(const redisReply *r, const char *prefix)
{
    size_t n = std::strlen(prefix);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && std::memcmp(r->str, prefix, n) == 0;
}

int64_t RedisConnection::integer(const char *what)
{
    return typed(what, REDIS_REPLY_INTEGER, "an integer")->integer;
}

void RedisConnection::status(const char *what)
{
    typed(what, REDIS_REPLY_STATUS, "a status");
}

bool RedisConnection::stale() const
{
    if (reader_->pos < reader_->len)
        return true; // bytes nobody asked for, already read
    char byte;
    ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    return true; // 0: closed by the server; > 0: bytes nobody asked for
}

void RedisConnection::fail_io(const char *what, int err, bool maybe_executed)
{
    mark_broken();
    std::string head = where_ + ": " + what + ": ";
    if (err == ENOMEM || err == ENOBUFS)
        throw std::bad_alloc();
    if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT)
        fail_timeout(what, maybe_executed);
    if (err == ECONNRESET || err == EPIPE || err == ECONNABORTED || err == ENOTCONN)
        throw RedisIoError(CACHE_EUNAVAILABLE, head + "the server closed the connection",
                           maybe_executed);
    throw RedisIoError(CACHE_EUNAVAILABLE, head + "connection failed: " + std::strerror(err),
                       maybe_executed);
}

void RedisConnection::fail_timeout(const char *what, bool maybe_executed)
{
    mark_broken();
    throw RedisIoError(CACHE_ETIMEOUT,
                       where_ + ": " + what + ": no complete answer within " +
                           std::to_string(opts_.timeout_ms) +
                           " ms (timeout_ms); the server is stalled, overloaded or too far away",
                       maybe_executed);
}

// ------------------------------------------------------------- errors

std::string RedisConnection::redact(std::string text) const
{
    // Redis never echoes a password, but a proxy in between might.
    if (opts_.password.size() >= 3) {
        for (size_t p = text.find(opts_.password); p != std::string::npos;
             p = text.find(opts_.password, p + 3))
            text.replace(p, opts_.password.size(), "***");
    }
    return text;
}

void RedisConnection::fail_reply(const redisReply *r, const char *what) const
{
    const char *s = r->str ? r->str : "";
    size_t n = r->str ? r->len : 0;
    std::string text = redact(std::string(s, std::min<size_t>(n, 300)));
    std::string head = where_ + ": " + what + ": ";
    if (starts_with(s, n, "NOAUTH"))
        fail(CACHE_EAUTH, head + "the server requires a password (" + text +
                              "); give it as redis://:password@host");
    if (starts_with(s, n, "WRONGPASS") || starts_with(s, n, "NOPERM") ||
        starts_with(s, n, "ERR invalid password") || starts_with(s, n, "ERR AUTH"))
        fail(CACHE_EAUTH, head + "refused: " + text);
    if (starts_with(s, n, "WRONGTYPE"))
        fail(CACHE_ECORRUPT, head +
                                 "the key holds a Redis list, set, hash or other type, "
                                 "not a string that unicache stored (" +
                                 text + ")");
    if (starts_with(s, n, "TRYAGAIN"))
        throw RedisReplyError(CACHE_EUNAVAILABLE,
                              head + "the server cannot serve requests now (" + text + ")",
                              RedisReplyError::tryagain, -1, "");
    if (starts_with(s, n, "LOADING") || starts_with(s, n, "BUSY") ||
        starts_with(s, n, "MASTERDOWN"))
        fail(CACHE_EUNAVAILABLE, head + "the server cannot serve requests now (" + text + ")");
    bool moved = starts_with(s, n, "MOVED ");
    if (moved || starts_with(s, n, "ASK ") || starts_with(s, n, "CLUSTERDOWN")) {
        std::string message = head +
                              "the server is part of a Redis Cluster: open it as "
                              "redis-cluster://host:port (" +
                              text + ")";
        if (starts_with(s, n, "CLUSTERDOWN"))
            throw RedisReplyError(CACHE_ENOTSUP, message, RedisReplyError::clusterdown, -1, "");
        // "MOVED 3999 127.0.0.1:6381"
        std::string words(s, n);
        size_t a = words.find(' ');
        size_t b = words.find(' ', a + 1);
        int slot = -1;
        std::string target;
        if (b != std::string::npos) {
            slot = std::atoi(words.c_str() + a + 1);
            target = words.substr(b + 1);
        }
        throw RedisReplyError(CACHE_ENOTSUP, message,
                              moved ? RedisReplyError::moved : RedisReplyError::ask, slot, target);
    }
    if (starts_with(s, n, "OOM"))
        fail(CACHE_EIO, head + "the server is out of memory (" + text +
                            "); for a cache, set maxmemory-policy to an evicting policy "
                            "such as allkeys-lru");
    if (starts_with(s, n, "READONLY"))
        throw RedisReplyError(CACHE_EIO,
                              head + "the server is a read-only replica (" + text +
                                  "); point the URI at the primary",
                              RedisReplyError::readonly, -1, "");
    if (starts_with(s, n, "ERR unknown command"))
        fail(CACHE_ENOTSUP, head + "the server does not know this command (" + text +
                                "); unicache needs Redis 2.8 or later");
    fail(CACHE_EIO, head + text);
}

} // namespace unicache
