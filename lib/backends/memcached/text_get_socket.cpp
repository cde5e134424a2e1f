#include "text_get_socket.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace unicache {

namespace {

// Longer than any header line memcached sends for one of our names
// ("VALUE " + 250-byte name + flags + length).
constexpr size_t kMaxLine = 320;
// memcached's largest possible item (-I 1024m); a longer reply is garbage.
constexpr uint64_t kMaxItem = uint64_t(1) << 30;
// What a socket keeps between calls; a larger item's buffer is given back.
constexpr size_t kKeptBuffer = 16 * 1024;
// Most gets a failing socket leaves to libmemcached before trying again.
constexpr unsigned kMaxSkip = 1024;

int64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Reads the unsigned decimal at *p (at most max) that `stop` ends, and
// moves *p past the stop character.
bool take_number(const char **p, const char *end, char stop, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned digit = unsigned(*s - '0');
        if (v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (s == *p || s == end || *s != stop)
        return false;
    *p = s + 1;
    *out = v;
    return true;
}

// Milliseconds poll() may wait until deadline_ns, rounded up (0: it passed).
int poll_ms(int64_t deadline_ns)
{
    int64_t left = deadline_ns - now_ns();
    return left <= 0 ? 0 : int(std::min<int64_t>((left + 999999) / 1000000, INT32_MAX));
}

// Waits until fd is writable (a connect finished), until deadline_ns.
TextGetSocket::Outcome connected(int fd, int64_t deadline_ns)
{
    pollfd p{fd, POLLOUT, 0};
    int n;
    do
        n = poll(&p, 1, poll_ms(deadline_ns));
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return TextGetSocket::kTimedOut;
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        return TextGetSocket::kFailed;
    return TextGetSocket::kHit;
}

// A non-blocking socket connected to addr, or -1 (*why: kFailed or kTimedOut).
int connect_to(const sockaddr *addr, socklen_t len, int64_t deadline_ns,
               TextGetSocket::Outcome *why)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    *why = TextGetSocket::kFailed;
    if (fd < 0)
        return -1;
    if (addr->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (connect(fd, addr, len) == 0)
        return fd;
    if (errno == EINPROGRESS || errno == EAGAIN) {
        *why = connected(fd, deadline_ns);
        if (*why == TextGetSocket::kHit)
            return fd;
    }
    ::close(fd);
    return -1;
}

// Where the meta response starting at `at` ends: 0 when it is not all
// there yet, SIZE_MAX when it is not a response.
size_t meta_response_end(const std::string &text, size_t at)
{
    const char *base = text.data();
    const char *lf = static_cast<const char *>(std::memchr(base + at, '\n', text.size() - at));
    if (!lf)
        return text.size() - at > kMaxLine + 64 ? SIZE_MAX : 0;
    size_t line_end = size_t(lf - base) + 1;
    if (text.compare(at, 3, "VA ") != 0)
        return line_end;
    const char *p = base + at + 3;
    uint64_t size = 0;
    const char *q = p;
    if (!take_number(&p, lf + 1, ' ', kMaxItem, &size) &&
        !take_number(&q, lf + 1, '\r', kMaxItem, &size))
        return SIZE_MAX;
    size_t end = line_end + size_t(size) + 2;
    if (text.size() < end)
        return 0;
    if (text.compare(end - 2, 2, "\r\n") != 0)
        return SIZE_MAX;
    return end;
}

} // namespace

TextGetSocket::TextGetSocket() = default;

TextGetSocket::~TextGetSocket()
{
    close_fd();
}

void TextGetSocket::close_fd()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    rtt_ns_ = 0;
}

bool TextGetSocket::turn()
{
    if (skip_ > 0) {
        skip_--;
        return false;
    }
    return answered_;
}

TextGetSocket::Outcome TextGetSocket::give_up(Outcome why)
{
    close_fd();
    strikes_ = std::min(strikes_ + 1, 11u);
    skip_ = std::min(1u << (strikes_ - 1), kMaxSkip);
    answered_ = false;
    bump(why == kTimedOut ? counters_.timed_out : counters_.failed);
    return why;
}

TextGetSocket::Outcome TextGetSocket::open(const memcached_instance_st *server, int64_t deadline_ns)
{
    const char *host = memcached_server_name(server);
    Outcome why = kFailed;
    // libmemcached takes a name starting with '/' as a Unix socket.
    if (host[0] == '/' || std::strcmp(memcached_server_type(server), "SOCKET") == 0) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (std::strlen(host) >= sizeof un.sun_path)
            return kFailed;
        std::strcpy(un.sun_path, host);
        fd_ = connect_to(reinterpret_cast<sockaddr *>(&un), sizeof un, deadline_ns, &why);
    } else if (std::strcmp(memcached_server_type(server), "TCP") == 0) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo *found = nullptr;
        std::string port = std::to_string(memcached_server_port(server));
        if (getaddrinfo(host, port.c_str(), &hints, &found) != 0)
            return kFailed;
        for (addrinfo *a = found; a && fd_ < 0 && why != kTimedOut; a = a->ai_next)
            fd_ = connect_to(a->ai_addr, a->ai_addrlen, deadline_ns, &why);
        freeaddrinfo(found);
    }
    if (fd_ < 0)
        return why;
    return kHit;
}

size_t TextGetSocket::receive(size_t at, int64_t spin_until_ns, int64_t deadline_ns, Outcome *why)
{
    *why = kFailed;
    for (;;) {
        if (spin_until_ns == 0 || now_ns() >= spin_until_ns) {
            spin_until_ns = 0;
            pollfd p{fd_, POLLIN, 0};
            int n = poll(&p, 1, poll_ms(deadline_ns));
            if (n == 0) {
                *why = kTimedOut;
                return 0;
            }
            if (n < 0 && errno != EINTR)
                return 0;
        }
        ssize_t r = recv(fd_, buf_.data() + at, buf_.size() - at, 0);
        if (r > 0)
            return size_t(r);
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 0; // EOF or a broken connection
        if (spin_until_ns)
            sched_yield();
    }
}

TextGetSocket::Outcome TextGetSocket::get(const memcached_instance_st *server, Bytes name,
                                          int64_t deadline_ns, int64_t spin_ns, uint32_t *flags,
                                          Bytes *item)
{
    if (name.empty() || name.size() > MEMCACHED_MAX_KEY - 1)
        return give_up(kFailed);
    if (fd_ < 0) {
        Outcome o = open(server, deadline_ns);
        if (o != kHit)
            return give_up(o);
    }
    if (buf_.capacity() > kKeptBuffer) // the last item was large
        std::vector<char>(kKeptBuffer).swap(buf_);
    else if (buf_.size() < kKeptBuffer)
        buf_.resize(kKeptBuffer);

    // The request fits in the buffer and, on a socket with nothing in
    // flight, in one send().
    char *req = buf_.data();
    std::memcpy(req, "get ", 4);
    std::memcpy(req + 4, name.data(), name.size());
    std::memcpy(req + 4 + name.size(), "\r\n", 2);
    size_t req_len = name.size() + 6;
    if (send(fd_, req, req_len, MSG_NOSIGNAL) != ssize_t(req_len))
        return give_up(kFailed);
    int64_t sent = now_ns();

    bool spin = spin_ns > 0 && rtt_ns_ > 0 && rtt_ns_ <= spin_ns;
    Outcome why;
    size_t got = receive(0, spin ? sent + std::min(2 * rtt_ns_, spin_ns) : 0, deadline_ns, &why);
    if (got == 0)
        return give_up(why);
    int64_t rtt = now_ns() - sent;
    rtt_ns_ = rtt_ns_ ? rtt_ns_ + (rtt - rtt_ns_) / 8 : rtt;
    if (spin)
        bump(counters_.spun);

    // The first line: "END" or "VALUE <name> <flags> <bytes>", then "\r\n"
    // (our names hold no line feed).
    const char *line = buf_.data(), *lf;
    while (!(lf = static_cast<const char *>(std::memchr(line, '\n', got)))) {
        size_t more = got < kMaxLine ? receive(got, 0, deadline_ns, &why) : 0;
        if (more == 0)
            return give_up(got < kMaxLine ? why : kFailed);
        got += more;
    }
    size_t head = size_t(lf - line) + 1;
    if (head == 5 && std::memcmp(line, "END\r\n", 5) == 0) {
        if (got != head)
            return give_up(kFailed);
        bump(counters_.served);
        strikes_ = 0;
        return kMiss;
    }
    // Anything else (SERVER_ERROR, CLIENT_ERROR, ERROR, another key's
    // item, garbage) is libmemcached's to report.
    const char *p = line + 6 + name.size() + 1;
    uint64_t flag_value = 0, length = 0;
    if (head < 6 + name.size() + 6 || std::memcmp(line, "VALUE ", 6) != 0 ||
        std::memcmp(line + 6, name.data(), name.size()) != 0 || p[-1] != ' ' ||
        !take_number(&p, lf, ' ', UINT32_MAX, &flag_value) ||
        !take_number(&p, lf, '\r', kMaxItem, &length) || p != lf)
        return give_up(kFailed);

    // The data, "\r\nEND\r\n", and nothing after it.
    size_t total = head + size_t(length) + 7;
    if (buf_.size() < total)
        buf_.resize(total);
    while (got < total) {
        size_t more = receive(got, 0, deadline_ns, &why);
        if (more == 0)
            return give_up(why);
        got += more;
    }
    if (got != total || std::memcmp(buf_.data() + head + length, "\r\nEND\r\n", 7) != 0)
        return give_up(kFailed);
    *flags = uint32_t(flag_value);
    *item = Bytes(buf_.data() + head, size_t(length));
    bump(counters_.served);
    strikes_ = 0;
    return kHit;
}

TextGetSocket::Outcome TextGetSocket::exchange(const memcached_instance_st *server, Bytes request,
                                               size_t replies, int64_t deadline_ns,
                                               std::string *reply)
{
    reply->clear();
    if (fd_ < 0) {
        Outcome o = open(server, deadline_ns);
        if (o != kHit) {
            close_fd();
            return o;
        }
    }
    size_t sent = 0;
    while (sent < request.size()) {
        ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += size_t(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            pollfd p{fd_, POLLOUT, 0};
            int64_t left_ms = (deadline_ns - now_ns()) / 1000000;
            if (left_ms > 0 && poll(&p, 1, int(std::min<int64_t>(left_ms, INT_MAX))) > 0)
                continue;
        }
        close_fd();
        return kFailed;
    }
    if (buf_.size() < kKeptBuffer)
        buf_.resize(kKeptBuffer);
    // Responses are complete when each line is, and each VA's data block.
    size_t at = 0;
    for (size_t complete = 0; complete < replies;) {
        size_t end = meta_response_end(*reply, at);
        if (end == SIZE_MAX) {
            close_fd();
            return kFailed;
        }
        if (end) {
            at = end;
            complete++;
            continue;
        }
        Outcome why;
        size_t got = receive(0, 0, deadline_ns, &why);
        if (got == 0) {
            close_fd();
            return why;
        }
        reply->append(buf_.data(), got);
    }
    if (at != reply->size()) { // more than we asked for: out of step
        close_fd();
        return kFailed;
    }
    return kHit;
}

} // namespace unicache
