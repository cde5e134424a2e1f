// Stampede leases with memcached's own meta commands (memcached 1.6), sent
// over the connection's own text sockets (text_get_socket.h): libmemcached
// has no meta commands.
//
//  - A miss: "mg <name> v f c N<lease s>" makes memcached create an empty
//    stub under the entry's name and answer W to the one caller that
//    created it, Z to the others. The stub is the lease: its CAS value is
//    the token, and the holder stores with "ms ... C<cas>". A delete
//    removes the stub and a set replaces it, so a late store of outdated
//    data fails (NF, EX) and stores nothing; a crashed holder's stub
//    expires after lease_ttl, rounded up to memcached's whole seconds.
//    Readers see a stub as absent (envelope.cpp).
//  - A stale copy (stale_ttl): a fill keeps the item in memcached for
//    ttl + stale_ttl, its envelope expiring after ttl. Past the envelope's
//    expiry the item is served stale until the stale deadline the fill
//    wrote (the window is the writer's, per call), and the one caller
//    whose "add" of a small lease item "~l<name>" succeeds refreshes it,
//    with the item's own CAS as its token, so a delete or a set in between
//    refuses its store too. The same for an early refresh (XFetch).
//  - "~c<name>" holds what a fill that keeps metadata knows about its
//    value: "<compute ms> <stale deadline ms> <expiry ms>", the expiry
//    naming the item it belongs to (a later plain set writes another
//    expiry, so an outdated "~c" is never taken for the new value's).
#include <cstdlib>
#include <cstring>

#include "core/clock.h"
#include "core/error.h"
#include "core/expiry.h"
#include "item_keys.h"
#include "memcached_backend.h"

namespace unicache {

namespace {

// Tokens of the lease-item kind (stale copy, early refresh) carry this bit;
// a stub's token is its CAS as it is (memcached's CAS counter never gets
// near 2^63).
constexpr uint64_t kItemLease = uint64_t(1) << 63;

int64_t lease_seconds(int64_t lease_ttl_ms)
{
    return std::max<int64_t>(1, lease_ttl_ms / 1000 + (lease_ttl_ms % 1000 != 0));
}

// memcached's expiry for a deadline (as exptime_until in memcached_backend.cpp).
int64_t exptime_for(int64_t deadline_ms)
{
    if (deadline_ms == 0)
        return 0;
    int64_t remaining = std::max<int64_t>(ms_until(deadline_ms, wall_ms()), 1);
    int64_t secs = remaining / 1000 + (remaining % 1000 != 0) + 1;
    if (secs <= 60 * 60 * 24 * 30)
        return secs;
    int64_t at = deadline_ms / 1000 + (deadline_ms % 1000 != 0) + 1;
    return at > INT32_MAX ? 0 : at;
}

bool parse_uint(const char *p, const char *end, uint64_t *out);

using FillMeta = MemcachedBackend::FillMeta;

// "<compute> <stale deadline> <expiry>"; false for anything else (an older
// "~c" held the compute time alone, which counts for nothing now).
bool parse_fill_meta(const std::string &text, FillMeta *out)
{
    const char *p = text.data(), *end = p + text.size();
    uint64_t *fields[3] = {&out->compute_ms, &out->stale_until, &out->expiry_ms};
    for (int i = 0; i < 3; i++) {
        const char *sp =
            i < 2 ? static_cast<const char *>(std::memchr(p, ' ', size_t(end - p))) : end;
        if (!sp || !parse_uint(p, sp, fields[i]))
            return false;
        p = sp + 1;
    }
    return true;
}

bool parse_uint(const char *p, const char *end, uint64_t *out)
{
    if (p == end)
        return false;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + uint64_t(*p - '0');
    }
    *out = v;
    return true;
}

} // namespace

[[noreturn]] void MemcachedBackend::refused(Connection &c, uint32_t server, const char *what,
                                            const std::string &line)
{
    const memcached_instance_st *inst = memcached_server_instance_by_position(c.mc, server);
    fail(CACHE_EAUTH,
         std::string("memcached ") + what + " failed: authentication refused by " +
             memcached_server_name(inst) + ":" + std::to_string(memcached_server_port(inst)) +
             " (" + line + "): " +
             (!opts_.user.empty()
                  ? "the server did not accept user '" + opts_.user + "' with the password given"
                  : "the server requires a login (memcached -Y or -S); give it in the URI, "
                    "memcached://user:password@host:port"));
}

// A lease socket is a connection of its own, so it logs in as log_in()
// does for libmemcached's: on a new connection, a no-op first ("mn"); only a
// server that answers it "unauthenticated" is sent the login, so one that
// needs none never sees the password.
void MemcachedBackend::log_in_socket(Connection &c, uint32_t server, int64_t deadline)
{
    const memcached_instance_st *inst = memcached_server_instance_by_position(c.mc, server);
    TextGetSocket &sock = c.sockets[server];
    std::string text;
    if (sock.exchange(inst, "mn\r\n", 1, deadline, &text) != TextGetSocket::kHit)
        return; // the request after it reports the failure
    if (text.compare(0, 2, "MN") == 0)
        return;
    if (text.find("unauthenticated") == std::string::npos)
        fail(CACHE_EIO, "memcached login: unexpected reply to a no-op");
    std::string login = opts_.user + " " + opts_.password;
    // As log_in(): any name on this server; exptime 1 in case it is stored.
    std::string name = item_keys::generation_key(anchor_for(c, server), "~login");
    std::string req =
        "set " + name + " 0 1 " + std::to_string(login.size()) + "\r\n" + login + "\r\n";
    if (sock.exchange(inst, req, 1, deadline, &text) != TextGetSocket::kHit)
        return;
    if (text.compare(0, 6, "STORED") != 0) {
        std::string line = text.substr(0, text.find('\r'));
        refused(c, server, "login", line);
    }
}

std::vector<MemcachedBackend::MetaReply> MemcachedBackend::meta(Connection &c, uint32_t server,
                                                                const std::string &request,
                                                                size_t replies, const char *what)
{
    const memcached_instance_st *inst = memcached_server_instance_by_position(c.mc, server);
    std::string text;
    // The call's deadline (DeadlineWatch), shared by its round trips.
    int64_t deadline = c.deadline_ns.load(std::memory_order_relaxed);
    if (deadline == 0)
        deadline = monotonic_ns() + opts_.timeout_ms * 1000000;
    if (!opts_.user.empty() && !c.sockets[server].connected())
        log_in_socket(c, server, deadline);
    switch (c.sockets[server].exchange(inst, request, replies, deadline, &text)) {
    case TextGetSocket::kHit:
        break;
    case TextGetSocket::kTimedOut:
        fail(CACHE_ETIMEOUT, std::string("memcached ") + what + ": no answer within timeout_ms=" +
                                 std::to_string(opts_.timeout_ms) + " from " +
                                 memcached_server_name(inst));
    default:
        fail(CACHE_EUNAVAILABLE, std::string("memcached ") + what + ": cannot reach " +
                                     memcached_server_name(inst) + ":" +
                                     std::to_string(memcached_server_port(inst)));
    }
    std::vector<MetaReply> out;
    size_t at = 0;
    while (at < text.size()) {
        size_t lf = text.find("\r\n", at);
        MetaReply r;
        std::string line = text.substr(at, lf - at);
        at = lf + 2;
        size_t sp = line.find(' ');
        r.code = line.substr(0, sp);
        if (r.code == "SERVER_ERROR" || r.code == "CLIENT_ERROR" || r.code == "ERROR") {
            if (line.find("unauthenticated") != std::string::npos ||
                line.find("authentication failure") != std::string::npos)
                refused(c, server, what, line);
            if (line.find("too large") != std::string::npos)
                fail(CACHE_ETOOBIG, std::string("memcached ") + what + ": " + line);
            fail(CACHE_EIO, std::string("memcached ") + what +
                                " (meta commands, memcached "
                                "1.6 or later): " +
                                line);
        }
        // The flags after the code: "<size>" first for VA, then f, c, W...
        size_t pos = sp == std::string::npos ? line.size() : sp + 1;
        uint64_t size = 0;
        bool first = r.code == "VA";
        while (pos < line.size()) {
            size_t next = line.find(' ', pos);
            if (next == std::string::npos)
                next = line.size();
            const char *b = line.data() + pos, *e = line.data() + next;
            uint64_t v = 0;
            if (first) {
                if (!parse_uint(b, e, &size))
                    fail(CACHE_EIO,
                         std::string("memcached ") + what + ": bad reply '" + line + "'");
                first = false;
            } else if (*b == 'f' && parse_uint(b + 1, e, &v)) {
                r.flags = uint32_t(v);
            } else if (*b == 'c' && parse_uint(b + 1, e, &v)) {
                r.cas = v;
            } else if (*b == 'W' && e == b + 1) {
                r.win = true;
            }
            pos = next + 1;
        }
        if (r.code == "VA") {
            r.data = text.substr(at, size_t(size));
            at += size_t(size) + 2;
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string MemcachedBackend::side_name(Connection &c, Bytes full_key, char kind) const
{
    std::string name = "~";
    name.push_back(kind);
    if (c.key.size() + 2 <= 250) {
        name.append(c.key.data(), c.key.size());
    } else {
        item_keys::append_digest_name(full_key, &name);
    }
    return name;
}

bool MemcachedBackend::fill_meta(Connection &c, Bytes full_key, int64_t expiry_ms, FillMeta *out)
{
    std::string cname = side_name(c, full_key, 'c');
    auto m = meta(c, server_of(c, cname), "mg " + cname + " v\r\n", 1, "get");
    return m[0].code == "VA" && parse_fill_meta(m[0].data, out) &&
           int64_t(out->expiry_ms) == expiry_ms;
}

void MemcachedBackend::extend_stale(Connection &c, Bytes full_key, const FillMeta &fm,
                                    int64_t until)
{
    if (int64_t(fm.stale_until) >= until)
        return;
    // The item's own life ("mg ... T" touches it; its CAS, the refresher's
    // token, stays), then the deadline readers go by.
    meta(c, c.server,
         "mg " + std::string(c.key) + " T" + std::to_string(exptime_for(until)) + "\r\n", 1,
         "touch");
    std::string cname = side_name(c, full_key, 'c');
    std::string text = std::to_string(fm.compute_ms) + " " + std::to_string(until) + " " +
                       std::to_string(fm.expiry_ms);
    meta(c, server_of(c, cname),
         "ms " + cname + " " + std::to_string(text.size()) + " T" +
             std::to_string(exptime_for(until)) + "\r\n" + text + "\r\n",
         1, "set");
}

bool MemcachedBackend::take_item_lease(Connection &c, Bytes full_key, uint64_t token,
                                       int64_t lease_s)
{
    std::string name = side_name(c, full_key, 'l');
    std::string text = std::to_string(token);
    std::string req = "ms " + name + " " + std::to_string(text.size()) + " T" +
                      std::to_string(lease_s) + " ME\r\n" + text + "\r\n";
    auto r = meta(c, server_of(c, name), req, 1, "lease add");
    return r[0].code == "HD";
}

void MemcachedBackend::lease_get(Bytes key, const LeaseRequest &req, LeaseReply *reply)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    int64_t lease_s = lease_seconds(req.lease_ttl_ms);
    std::string get = "mg " + std::string(c->key) + " v f c N" + std::to_string(lease_s) + "\r\n";
    // A dead item (expired, older generation, another key's digest) is
    // removed if unchanged and the stub asked for again: a few rounds.
    for (int round = 0; round < 4; round++) {
        MetaReply r = std::move(meta(*c, c->server, get, 1, "lease get")[0]);
        if (r.code != "VA")
            fail(CACHE_EIO, "memcached lease get: unexpected reply " + r.code);
        if (r.flags == 0 && r.data.empty()) { // a stub: the lease
            reply->state = r.win ? LeaseState::granted : LeaseState::busy;
            reply->granted = r.win;
            reply->token = r.cas;
            return;
        }
        Item item;
        item.flags = r.flags;
        item.cas = r.cas;
        item.env = Envelope::decode(r.flags, r.data);
        int64_t now = wall_ms();
        if (is_live(*c, item, key)) {
            reply->state = LeaseState::hit;
            reply->value.assign(item.env.value);
            if (req.want_meta && item.env.expiry_ms > now) {
                reply->fresh_left_ms = item.env.expiry_ms - now;
                FillMeta fm;
                if (fill_meta(*c, key, item.env.expiry_ms, &fm))
                    reply->compute_ms = int64_t(fm.compute_ms);
            }
            if (req.early && take_item_lease(*c, key, r.cas, lease_s)) {
                reply->granted = true;
                reply->token = r.cas | kItemLease;
            }
            return;
        }
        bool same = (!c->hashed || item.env.key == key) && item.env.generation == c->generation;
        FillMeta fm;
        if (same && item.env.expiry_ms && fill_meta(*c, key, item.env.expiry_ms, &fm) &&
            int64_t(fm.stale_until) > now &&
            (item.env.tags.empty() || tags_current(*c, item.env.tags))) {
            reply->state = LeaseState::stale;
            reply->compute_ms = int64_t(fm.compute_ms);
            reply->value.assign(item.env.value);
            if (take_item_lease(*c, key, r.cas, lease_s)) {
                reply->granted = true;
                reply->token = r.cas | kItemLease;
                if (req.stale_extend_ms > 0)
                    extend_stale(*c, key, fm, deadline_after(now, req.stale_extend_ms));
            }
            return;
        }
        meta(*c, c->server, "md " + std::string(c->key) + " C" + std::to_string(r.cas) + "\r\n", 1,
             "delete");
    }
    reply->state = LeaseState::busy; // it kept changing: look again later
}

bool MemcachedBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    ConnectionPool::Lease c = pool().acquire();
    // The tag section as set_tagged writes it (versions first); the store
    // below is lease-checked by its CAS, tags and all.
    std::string section = tag_section(*c, fill.tags, fill.ntags);
    name_entry(*c, key);
    int64_t now = wall_ms();
    int64_t deadline = fill.ttl_ms > 0 ? deadline_after(now, fill.ttl_ms) : 0;
    int64_t kept = deadline && fill.keep_meta && fill.stale_ttl_ms > 0
                       ? deadline_after(deadline, fill.stale_ttl_ms)
                       : deadline;
    uint32_t flags =
        Envelope::encode(c->generation, deadline, c->hashed ? key : Bytes(), section, &c->header);
    if (value.size() > (size_t(1) << 30) - c->header.size())
        fail(CACHE_ETOOBIG, "value of " + std::to_string(value.size()) +
                                " bytes is larger than any memcached item");
    std::string req = "ms " + std::string(c->key) + " " +
                      std::to_string(c->header.size() + value.size()) + " T" +
                      std::to_string(exptime_for(kept)) + " F" + std::to_string(flags);
    if (token != 0)
        req += " C" + std::to_string(token & ~kItemLease);
    req += "\r\n";
    req += c->header;
    req.append(value.data(), value.size());
    req += "\r\n";
    MetaReply r = std::move(meta(*c, c->server, req, 1, "lease set")[0]);
    if (r.code != "HD")
        return false; // EX: set since; NF: deleted (the stub with it)
    if (token == 0 || (token & kItemLease)) {
        std::string lname = side_name(*c, key, 'l');
        meta(*c, server_of(*c, lname), "md " + lname + "\r\n", 1, "delete");
    }
    if (fill.keep_meta && deadline) {
        std::string cname = side_name(*c, key, 'c');
        std::string text = std::to_string(fill.compute_ms) + " " +
                           std::to_string(kept != deadline ? kept : 0) + " " +
                           std::to_string(deadline);
        meta(*c, server_of(*c, cname),
             "ms " + cname + " " + std::to_string(text.size()) + " T" +
                 std::to_string(exptime_for(kept)) + "\r\n" + text + "\r\n",
             1, "set");
    }
    return true;
}

void MemcachedBackend::lease_release(Bytes key, uint64_t token)
{
    ConnectionPool::Lease c = pool().acquire();
    name_entry(*c, key);
    if (token & kItemLease) {
        // Ours while the lease item still names our token.
        std::string lname = side_name(*c, key, 'l');
        uint32_t server = server_of(*c, lname);
        auto r = meta(*c, server, "mg " + lname + " v c\r\n", 1, "get");
        if (r[0].code == "VA" && r[0].data == std::to_string(token & ~kItemLease))
            meta(*c, server, "md " + lname + " C" + std::to_string(r[0].cas) + "\r\n", 1, "delete");
        return;
    }
    // The stub goes if it is still ours; waiters then take a new one.
    meta(*c, c->server, "md " + std::string(c->key) + " C" + std::to_string(token) + "\r\n", 1,
         "delete");
}

} // namespace unicache
