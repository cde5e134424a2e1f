// RedisConnection: one connection to a Redis server, on a socket of our own.
//
// Commands are encoded here, from argument/length pairs, and written with
// sendmsg(MSG_NOSIGNAL): binary-safe, no format strings, large values sent
// from the caller's memory without a copy, and a server that closed the
// socket can never raise SIGPIPE in the host process. Replies are parsed by
// hiredis's reader (only the parser: no hiredis context, so no hiredis I/O)
// into objects built by our own reader functions: one allocation per
// string reply, none for nil, and values copied straight into the caller's
// buffer when a sink is armed.
//
// Time. Every call has one deadline (set_deadline(), timeout_ms from the
// start of the backend call): each wait for the socket, to write or to
// read, waits only for what is left of it, so a server that trickles its
// reply one byte at a time cannot stretch a call past timeout_ms (a
// per-read timeout would restart with every byte). Connecting has its own
// bound, connect_timeout_ms; the time spent connecting is added to the
// deadline of the call that had to connect.
//
// Waiting for a reply. A reply is first awaited by calling a non-blocking
// recv() in a loop with sched_yield() between tries, then in poll(), like
// the memcached backend's fast get (text_get_socket.h, which says why the
// yield matters on a small VM): the wake-up from a sleep in poll() or a
// blocking read() is a large part of a loopback round trip. The spin adapts:
// an EWMA of this connection's round trips is kept, and the thread spins
// only while that average is at most spin_us, for up to twice the average.
// A slower server is never spun on; spin_us=0 never spins.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <sys/uio.h>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "redis_options.h"

struct redisReader;
struct redisReply;

namespace unicache {

// A failure of the connection itself (refused, lost, timed out, garbled
// protocol), as opposed to an error reply. The connection is unusable after
// it. Status: CACHE_EUNAVAILABLE, CACHE_ETIMEOUT or CACHE_EIO.
class RedisIoError : public Error {
public:
    RedisIoError(int status, const std::string &message, bool maybe_executed)
        : Error(status, message), maybe_executed_(maybe_executed)
    {
    }
    // False when the request cannot have reached the server (the connection
    // failed, or not one byte was written), so that sending it again is safe
    // even for a command that must not run twice.
    bool maybe_executed() const { return maybe_executed_; }

private:
    bool maybe_executed_;
};

// An error reply that a layer above acts on rather than reports: a cluster
// redirection (MOVED, ASK), a cluster that cannot serve now (TRYAGAIN,
// CLUSTERDOWN), a replica where a master was expected (READONLY). The
// status and message are what the plain redis:// backend reports.
class RedisReplyError : public Error {
public:
    enum Kind { moved, ask, tryagain, clusterdown, readonly };
    RedisReplyError(int status, const std::string &message, Kind kind, int slot, std::string target)
        : Error(status, message), kind_(kind), slot_(slot), target_(std::move(target))
    {
    }
    Kind kind() const { return kind_; }
    int slot() const { return slot_; }                    // MOVED/ASK: the slot; else -1
    const std::string &target() const { return target_; } // MOVED/ASK: "host:port"

private:
    Kind kind_;
    int slot_;
    std::string target_;
};

struct RedisReplyDeleter {
    void operator()(redisReply *r) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// Where the bulk strings of the next reply go (see RedisConnection::sink_next).
struct RedisReplySink {
    OwnedBuffer *values = nullptr;
    int *statuses = nullptr;
    size_t count = 0; // 0: not armed
};

class RedisConnection {
public:
    // Connects (within connect_timeout_ms), authenticates (AUTH) and selects
    // the database (SELECT) before deadline_ns (monotonic nanoseconds; the
    // time spent connecting is added to it). Throws RedisIoError,
    // Error(CACHE_EAUTH) when the password is refused, Error(CACHE_EINVAL)
    // when the database does not exist.
    // endpoint: the server to connect to instead of opts.host/port (and
    // whose `where` starts the messages), or nullptr.
    static std::unique_ptr<RedisConnection> open(const RedisOptions &opts, int64_t deadline_ns,
                                                 const RedisEndpoint *endpoint = nullptr);
    ~RedisConnection();
    RedisConnection(const RedisConnection &) = delete;
    RedisConnection &operator=(const RedisConnection &) = delete;

    // Queue a command of argc arguments, then give each with arg(). The
    // bytes of large arguments are referenced, not copied: they must stay
    // valid until the next reply() call.
    void command(size_t argc);
    void arg(Bytes a);
    void arg(int64_t v);
    void command(std::initializer_list<Bytes> args);
    // A command of name followed by args[0, n) (MGET, DEL).
    void command(const char *name, const Bytes *args, size_t n);

    // Writes whatever is queued, then returns the next reply. `what` names
    // the command in messages. Error replies are returned, not thrown; I/O
    // failures throw RedisIoError.
    RedisReply reply(const char *what);
    // reply(), throwing Error for an error reply (see fail_reply()).
    RedisReply checked(const char *what);
    // checked(), expecting an integer reply.
    int64_t integer(const char *what);
    // checked(), expecting a status reply such as +OK.
    void status(const char *what);

    // Cluster: while on, every command is sent after an ASKING (for a slot
    // being imported, after an ASK redirection), and the ASKING replies are
    // read and dropped by reply(). Commands between MULTI and EXEC get none:
    // the server keeps the ASKING of the MULTI for the whole transaction.
    void set_asking(bool on) { asking_ = on; }

    // Throws the Error that an error reply stands for: CACHE_EAUTH for
    // NOAUTH/WRONGPASS/NOPERM, CACHE_ECORRUPT for WRONGTYPE,
    // CACHE_EUNAVAILABLE while the server is loading or busy, CACHE_ENOTSUP
    // for unknown commands and cluster redirections, else CACHE_EIO (a full
    // server with a noeviction policy, a read-only replica, ...). The
    // server's text is quoted with the password removed. Redirections,
    // TRYAGAIN, CLUSTERDOWN and READONLY are thrown as RedisReplyError.
    [[noreturn]] void fail_reply(const redisReply *r, const char *what) const;
    // Throws RedisIoError(CACHE_EIO) for a reply of a type the command
    // cannot return.
    [[noreturn]] void fail_type(const redisReply *r, const char *what,
                                const char *expected = "another type") const;
    // True for an error reply starting with prefix ("NOSCRIPT").
    static bool is_error(const redisReply *r, const char *prefix);

    // The next reply's bulk string (a GET answer), or the bulk strings of
    // its array (an MGET answer), are copied straight into values[i], with
    // statuses[i] = CACHE_OK, instead of into the reply object: a hit costs
    // the one allocation the caller keeps. Nil leaves statuses[i] alone.
    // The reply then holds a placeholder for each of them. Applies to one
    // reply only.
    void sink_next(OwnedBuffer *values, int *statuses, size_t count)
    {
        sink_ = RedisReplySink{values, statuses, count};
    }

    // Every write and read from now on must finish by deadline_ns
    // (monotonic nanoseconds, see monotonic_ns()); past it they throw
    // RedisIoError(CACHE_ETIMEOUT) and the connection is broken.
    void set_deadline(int64_t deadline_ns) { deadline_ns_ = deadline_ns; }
    int64_t deadline() const { return deadline_ns_; }

    // Replies still owed by the server; a connection returned with some is
    // closed rather than reused.
    size_t pending() const { return pending_; }
    bool broken() const { return broken_; }
    void mark_broken() { broken_ = true; }
    // Checked without blocking: true when the server closed the connection
    // or sent bytes nobody asked for.
    bool stale() const;

    const RedisOptions &options() const { return opts_; }
    // The server this connection talks to, as messages name it.
    const std::string &where() const { return where_; }

    int64_t last_used_ms = 0; // monotonic; for the health check
    uint64_t epoch = 0;       // the pool's failure epoch when last verified
    uint64_t generation = 0;  // the pool's endpoint generation it was opened in

private:
    explicit RedisConnection(const RedisOptions &opts) : opts_(opts) {}
    // One reply off the wire (an ASKING's included).
    RedisReply next_reply(const char *what);
    void connect_socket();
    void handshake();
    void flush(const char *what);
    // Waits for fd_ to be ready for events (POLLIN / POLLOUT) until the
    // deadline; throws a timeout when it passes.
    void wait_for(short events, const char *what, bool maybe_executed);
    // Reads what the socket has for the reply being awaited into the
    // parser, spinning first when `measure` (the first read after a write).
    void receive(const char *what, bool measure);
    RedisReply typed(const char *what, int type, const char *expected);
    void put(const char *p, size_t n);
    void put_header(char type, uint64_t n);
    [[noreturn]] void fail_io(const char *what, int err, bool maybe_executed);
    [[noreturn]] void fail_timeout(const char *what, bool maybe_executed);
    std::string redact(std::string text) const;

    const RedisOptions &opts_;
    std::string host_; // where connect_socket() goes (TCP)
    int port_ = 0;
    std::string where_; // opts_.where, or the endpoint's
    int fd_ = -1;
    redisReader *reader_ = nullptr;
    RedisReplySink sink_; // the reader's privdata
    int64_t deadline_ns_ = 0;
    int64_t sent_ns_ = 0;  // when the last write finished
    int64_t rtt_ns_ = 0;   // EWMA of write-to-first-byte times; 0: none yet
    std::vector<char> in_; // what recv() fills before the parser copies it

    // The queued request: bytes copied into scratch_ plus references to
    // large caller-owned arguments, in order.
    struct Segment {
        const char *ext; // nullptr: scratch_[offset, offset + len)
        size_t offset;
        size_t len;
    };
    std::string scratch_;
    size_t run_start_ = 0;
    std::vector<Segment> segments_;
    std::vector<iovec> iov_; // reused by flush(): no allocation per request
    size_t pending_ = 0;     // commands sent or queued whose reply is unread
    size_t unsent_ = 0;      // of those, queued but not written yet
    bool broken_ = false;
    bool asking_ = false;
    bool in_multi_ = false;  // between a queued MULTI and its EXEC/DISCARD
    bool name_next_ = false; // the next arg() is a command's name
    // For each reply still owed, in order: 1 when it answers an ASKING that
    // reply() drops. Empty unless asking_ was on.
    std::vector<char> hidden_;
    size_t hidden_head_ = 0;
};

} // namespace unicache
