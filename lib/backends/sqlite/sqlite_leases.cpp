// Stampede leases in the SQLite file: "<t>.leases" holds each key's lease
// token and its last fill's stale copy, beside the entries, so every
// process that opens the file shares them. A grant and a lease-checked set
// are write transactions (SQLite's one write lock makes the check and the
// write one step); a hit reads without the write lock. Triggers in the
// schema end a key's lease whenever any writer rewrites or deletes it
// (sqlite_sql.cpp), and del() ends it even when the key is absent.
#include "sqlite_backend.h"

#include "core/clock.h"
#include "core/expiry.h"

namespace unicache {

namespace {

// Every so many grants in a process, one sweep of leases nobody will ask
// for again (an expired lease on a key no caller wants any more).
constexpr uint32_t kSweepEvery = 256;

struct LeaseRow {
    bool found = false;
    int64_t token = 0, lease_until = 0, on_miss = 0, fresh_until = 0, stale_until = 0,
            compute_ms = 0;
    bool leased(int64_t now) const { return found && token != 0 && lease_until > now; }
};

LeaseRow read_lease(SqliteConnection &c, Bytes key, OwnedBuffer *stale, int64_t now)
{
    LeaseRow r;
    Query q(c, Sql::lease_read);
    if (!q.bind(kKey, key).step())
        return r;
    r.found = true;
    r.token = q.column_int(0);
    r.lease_until = q.column_int(1);
    r.on_miss = q.column_int(2);
    r.fresh_until = q.column_int(3);
    r.stale_until = q.column_int(4);
    r.compute_ms = q.column_int(5);
    if (stale && r.stale_until > now)
        stale->assign(q.column_blob(6));
    return r;
}

void fill_meta(const LeaseRow &r, int64_t now, LeaseReply *reply)
{
    if (r.fresh_until > now)
        reply->fresh_left_ms = r.fresh_until - now;
    reply->compute_ms = r.compute_ms;
}

} // namespace

void SqliteBackend::lease_get(Bytes key, const LeaseRequest &req, LeaseReply *reply)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    rt.anchor.before_read();
    if (!req.early) {
        // A hit needs no write lock: one read transaction, one snapshot.
        Transaction tx(*c, Transaction::read);
        int64_t now = wall_ms();
        if (read_live(rt, *c, key, now, &reply->value)) {
            reply->state = LeaseState::hit;
            if (req.want_meta) {
                Query q(*c, Sql::lease_meta);
                if (q.bind(kKey, key).step() && q.column_int(0) > now) {
                    reply->fresh_left_ms = q.column_int(0) - now;
                    reply->compute_ms = q.column_int(1);
                }
            }
            tx.commit();
            return;
        }
        tx.commit();
    }
    Transaction tx(*c, Transaction::write);
    int64_t now = wall_ms();
    auto grant = [&](bool on_miss) {
        Query(*c, Sql::lease_grant)
            .bind(kKey, key)
            .bind(kValue, int64_t(req.token))
            .bind(kExpires, deadline_after(now, req.lease_ttl_ms))
            .bind(kTagId, int64_t(on_miss))
            .run();
        reply->granted = true;
    };
    OwnedBuffer stale;
    bool hit = read_live(rt, *c, key, now, &reply->value);
    LeaseRow r = read_lease(*c, key, hit ? nullptr : &stale, now);
    if (hit) {
        reply->state = LeaseState::hit;
        if (req.want_meta)
            fill_meta(r, now, reply);
        if (req.early && !r.leased(now))
            grant(false);
    } else if (r.found && r.stale_until > now) {
        reply->state = LeaseState::stale;
        reply->value = std::move(stale);
        reply->compute_ms = r.compute_ms;
        if (!r.leased(now)) {
            grant(true);
            if (req.stale_extend_ms > 0)
                Query(*c, Sql::lease_extend_stale)
                    .bind(kKey, key)
                    .bind(kExpires, deadline_after(now, req.stale_extend_ms))
                    .run();
        }
    } else if (r.leased(now)) {
        reply->state = LeaseState::busy;
    } else {
        reply->state = LeaseState::granted;
        grant(true);
    }
    if (reply->granted && grants_.fetch_add(1, std::memory_order_relaxed) % kSweepEvery == 0)
        Query(*c, Sql::lease_purge).bind(kNow, now).run();
    tx.commit();
}

bool SqliteBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    check_entry(key, value);
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    int64_t now = wall_ms();
    if (token != 0) {
        LeaseRow r = read_lease(*c, key, nullptr, now);
        if (!r.found || uint64_t(r.token) != token)
            return false; // deleted, rewritten, released or taken over: rolls back
        OwnedBuffer ignored;
        if (r.on_miss && read_live(rt, *c, key, now, &ignored)) {
            // Set by someone else since the miss: theirs is newer.
            Query(*c, Sql::lease_end_token).bind(kKey, key).bind(kValue, int64_t(token)).run();
            tx.commit();
            return false;
        }
    }
    int64_t expires_at = fill.ttl_ms > 0 ? deadline_after(now, fill.ttl_ms) : 0;
    // Tags as set_tagged writes them, in the same transaction as the check.
    int64_t tag_id = fill.ntags ? random_tag_id() : 0;
    write_entry(*c, key, value, expires_at, tag_id); // the triggers end the lease
    for (size_t i = 0; i < fill.ntags; i++)
        Query(*c, Sql::tag_insert)
            .bind(kKey, fill.tags[i])
            .bind(kValue, key)
            .bind(kTagId, tag_id)
            .run();
    if (fill.keep_meta && expires_at != 0) {
        int64_t stale_until =
            fill.stale_ttl_ms > 0 ? deadline_after(expires_at, fill.stale_ttl_ms) : 0;
        Query(*c, Sql::lease_store_meta)
            .bind(kKey, key)
            .bind(kValue, stale_until ? value : Bytes())
            .bind(kExpires, expires_at)
            .bind(kTagId, fill.compute_ms)
            .bind(kPattern, stale_until)
            .run();
    }
    tx.commit();
    rt.evictor.after_write(*c, 2 * key.size() + value.size() + 24);
    return true;
}

void SqliteBackend::lease_release(Bytes key, uint64_t token)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    if (Query(*c, Sql::lease_end_token).bind(kKey, key).bind(kValue, int64_t(token)).run() > 0)
        Query(*c, Sql::lease_tidy).bind(kKey, key).bind(kNow, wall_ms()).run();
    tx.commit();
}

} // namespace unicache
