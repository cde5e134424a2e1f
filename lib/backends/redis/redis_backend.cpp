#include "redis_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <hiredis.h>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/tag_name.h"
#include "redis_slot.h"

namespace unicache {

namespace {

// Redis refuses strings longer than proto-max-bulk-len (512 MB by default);
// saying so before sending beats a protocol error and a dropped connection.
constexpr size_t kMaxValue = size_t(512) << 20;
// Keys per MGET/MSET/DEL command, and commands per pipelined round trip.
constexpr size_t kKeysPerCommand = 1000;
constexpr size_t kCommandsPerTrip = 1000;
constexpr size_t kBytesPerTrip = 8 << 20;
// incr on a value Redis will not parse but the contract accepts ("007",
// "-0") is done with WATCH/MULTI; this many concurrent changes in a row
// give up.
constexpr int kOptimisticTries = 16;

// Reads n replies and throws the first error only after all of them, so that
// the connection stays in step. Returns the sum of integer replies.
int64_t drain(RedisConnection &c, size_t n, const char *what)
{
    int64_t sum = 0;
    RedisReply first_error;
    for (size_t i = 0; i < n; i++) {
        RedisReply r = c.reply(what);
        if (r->type == REDIS_REPLY_ERROR) {
            if (!first_error)
                first_error = std::move(r);
        } else if (r->type == REDIS_REPLY_INTEGER) {
            sum += r->integer;
        }
    }
    if (first_error)
        c.fail_reply(first_error.get(), what);
    return sum;
}

// Queues SET key value [NX] [PX ttl_ms] (ttl_ms 0: no expiry).
void queue_set(RedisConnection &c, Bytes key, Bytes value, int64_t ttl_ms, bool nx = false)
{
    c.command(3 + (nx ? 1 : 0) + (ttl_ms > 0 ? 2 : 0));
    c.arg("SET");
    c.arg(key);
    c.arg(value);
    if (nx)
        c.arg("NX");
    if (ttl_ms > 0) {
        c.arg("PX");
        c.arg(ttl_ms);
    }
}

void queue_incrby(RedisConnection &c, Bytes key, int64_t delta)
{
    c.command(3);
    c.arg("INCRBY");
    c.arg(key);
    c.arg(delta);
}

// Reads an INCRBY reply into *out; false when Redis refused the stored value
// as "not an integer" (which may still be a counter under the contract).
bool incr_reply(const RedisConnection &c, const redisReply *r, int64_t delta, int64_t *out)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return true;
    }
    if (RedisConnection::is_error(r, "ERR increment or decrement would overflow"))
        fail(CACHE_ERANGE,
             "counter + " + std::to_string(delta) + " would overflow a signed 64-bit integer");
    if (RedisConnection::is_error(r, "ERR value is not an integer"))
        return false;
    if (RedisConnection::is_error(r, "WRONGTYPE"))
        fail(CACHE_ENAN, "stored value is not a decimal integer: " + c.options().where +
                             " holds a list, set, hash or other non-string type there");
    c.fail_reply(r, "INCRBY");
}

} // namespace

size_t RedisBackend::run_length(const Bytes *keys, size_t from, size_t end, size_t most) const
{
    size_t m = std::min(most, end - from);
    if (!opts_.per_slot_commands || m <= 1)
        return m;
    int slot = redis_key_slot(keys[from]);
    size_t n = 1;
    while (n < m && redis_key_slot(keys[from + n]) == slot)
        n++;
    return n;
}

void RedisBackend::check_value(Bytes value) const
{
    if (value.size() > kMaxValue)
        fail(CACHE_ETOOBIG, "value is " + std::to_string(value.size()) + " bytes; " + opts_.where +
                                " stores strings of at most 512 MB (proto-max-bulk-len)");
}

thread_local const RedisCallScope *RedisCallScope::current_ = nullptr;

RedisBackend::RedisBackend(RedisOptions opts, std::unique_ptr<RedisLocator> locator)
    : opts_(std::move(opts)), locator_(std::move(locator)),
      tag_scope_size_(tag_scope(opts_.prefix).size()), pool_([this] {
          renew_tracking_in_child();
          return std::make_unique<RedisPool>(opts_, locator_.get());
      }),
      tag_set_("set_tagged", kTagSetSource),
      tag_invalidate_("invalidate_tags", kTagInvalidateSource),
      tag_register_("register_tag_slot", kTagRegisterSource),
      incr_existing_("incr_existing", kIncrExistingSource)
{
    if (!opts_.lazy_connect)
        ping(); // a wrong password, database or address fails cache_open
}

// ------------------------------------------------------------ single keys

void RedisBackend::check_key(Bytes key)
{
    if (is_tag_index(key.data(), key.size()))
        fail(CACHE_EINVAL, "the key contains the bytes \\xffunicache-tag\\xff, which the redis "
                           "backend reserves for its tag indexes (see README, Tags)");
}

void RedisBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_key(key);
    check_value(value);
    run(true, [&](RedisConnection &c) {
        queue_set(c, key, value, ttl_ms);
        c.status("SET");
    });
}

bool RedisBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_key(key);
    check_value(value);
    return run(false, [&](RedisConnection &c) {
        queue_set(c, key, value, ttl_ms, true);
        RedisReply r = c.checked("SET NX");
        return r->type == REDIS_REPLY_STATUS;
    });
}

bool RedisBackend::get(Bytes key, OwnedBuffer *out)
{
    check_key(key);
    return run(true, [&](RedisConnection &c) {
        c.command({"GET", key});
        int status = CACHE_MISS;
        c.sink_next(out, &status, 1); // a hit lands in *out directly
        RedisReply r = c.checked("GET");
        if (status == CACHE_OK)
            return true;
        if (r->type != REDIS_REPLY_NIL)
            c.fail_type(r.get(), "GET");
        return false;
    });
}

namespace {

// PTTL's answer as an absolute expiry: -1 never expires; -2 (gone since the
// GET) and 0 expire now.
int64_t expiry_from_pttl(int64_t pttl)
{
    if (pttl == -1)
        return 0;
    return wall_ms() + (pttl > 0 ? pttl : 1);
}

} // namespace

bool RedisBackend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    check_key(key);
    return run(true, [&](RedisConnection &c) {
        c.command({"GET", key});
        c.command({"PTTL", key});
        OwnedBuffer value;
        int status = CACHE_MISS;
        c.sink_next(&value, &status, 1);
        RedisReply r = c.checked("GET");
        int64_t pttl = c.integer("PTTL"); // read before any failure: both replies are due
        if (status != CACHE_OK) {
            if (r->type != REDIS_REPLY_NIL)
                c.fail_type(r.get(), "GET");
            return false;
        }
        *meta = EntryMeta();
        meta->expires_at_ms = expiry_from_pttl(pttl);
        *out = std::move(value);
        return true;
    });
}

void RedisBackend::get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                               int *statuses)
{
    for (size_t i = 0; i < n; i++)
        check_key(keys[i]);
    constexpr size_t kKeysPerTrip = 512;
    run(true, [&](RedisConnection &c) {
        for (size_t done = 0; done < n;) {
            size_t end = std::min(n, done + kKeysPerTrip);
            for (size_t i = done; i < end; i++) {
                c.command({"GET", keys[i]});
                c.command({"PTTL", keys[i]});
            }
            bool bad = false;
            RedisReply bad_reply;
            for (size_t i = done; i < end; i++) {
                values[i] = OwnedBuffer(); // a retry starts clean
                statuses[i] = CACHE_MISS;
                c.sink_next(values + i, statuses + i, 1);
                RedisReply r = c.checked("GET");
                int64_t pttl = c.integer("PTTL");
                if (statuses[i] != CACHE_OK && r->type != REDIS_REPLY_NIL && !bad) {
                    bad = true; // failed after every reply of the trip is read
                    bad_reply = std::move(r);
                }
                metas[i] = EntryMeta();
                metas[i].expires_at_ms = expiry_from_pttl(pttl);
            }
            if (bad)
                c.fail_type(bad_reply.get(), "GET");
            done = end;
        }
    });
}

bool RedisBackend::del(Bytes key)
{
    check_key(key);
    // The key's lease and stale copy go in the same round trip: a holder
    // computing after a miss must not store what the delete outdated.
    std::string lease = lease_key(key), meta = meta_key(key);
    return run(false, [&](RedisConnection &c) {
        c.command({"DEL", key});
        c.command({"DEL", lease, meta});
        RedisReply r = c.reply("DEL");
        drain(c, 1, "DEL");
        if (r->type == REDIS_REPLY_ERROR)
            c.fail_reply(r.get(), "DEL");
        return r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    });
}

bool RedisBackend::exists(Bytes key)
{
    check_key(key);
    return run(true, [&](RedisConnection &c) {
        c.command({"EXISTS", key});
        return c.integer("EXISTS") > 0;
    });
}

int64_t RedisBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    check_key(key);
    return run(false, [&](RedisConnection &c) -> int64_t {
        RedisReply r;
        if (ttl_ms_if_new > 0) {
            // Create-with-TTL and add in one transaction, one round trip.
            c.command({"MULTI"});
            queue_set(c, key, "0", ttl_ms_if_new, true);
            queue_incrby(c, key, delta);
            c.command({"EXEC"});
            c.status("MULTI");
            drain(c, 2, "INCRBY"); // +QUEUED twice
            RedisReply exec = c.checked("EXEC");
            if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
                c.fail_type(exec.get(), "EXEC");
            // Keep only the INCRBY result; the array owns it.
            redisReply *res = exec->element[1];
            exec->element[1] = nullptr;
            r.reset(res);
        } else {
            queue_incrby(c, key, delta);
            r = c.reply("INCRBY");
        }
        int64_t value;
        if (!incr_reply(c, r.get(), delta, &value))
            incr_strict(c, key, delta, ttl_ms_if_new, true, &value);
        return value;
    });
}

// KEYS[1] the counter, ARGV[1] delta: the existence check and the add in one
// atomic step. nil when the key is absent, INCRBY's error (through pcall),
// or the new value as GET reads it: Lua turns integer replies into doubles,
// which would round counters beyond 2^53.
const char RedisBackend::kIncrExistingSource[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then return r end
return redis.call('GET', KEYS[1])
)lua";

RedisBackend::Counted RedisBackend::incr_existing_once(RedisConnection &c, Bytes key, int64_t delta,
                                                       int64_t *out)
{
    char digits[24];
    Bytes arg(digits, format_counter(delta, digits));
    RedisReply r = eval_reply(c, incr_existing_, &key, 1, &arg, 1);
    if (r->type == REDIS_REPLY_NIL)
        return Counted::absent;
    if (r->type == REDIS_REPLY_STRING) {
        *out = parse_counter(Bytes(r->str, r->len));
        return Counted::stored;
    }
    return incr_reply(c, r.get(), delta, out) ? Counted::stored : Counted::not_an_integer;
}

bool RedisBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    check_key(key);
    return run(false, [&](RedisConnection &c) {
        switch (incr_existing_once(c, key, delta, result)) {
        case Counted::absent:
            return false;
        case Counted::stored:
            return true;
        default:
            return incr_strict(c, key, delta, 0, false, result);
        }
    });
}

// Redis parses counters more strictly than the contract ("007" and "-0" are
// valid counters, but not Redis integers). For those, read the value, add
// here with the contract's own rules, and write it back under WATCH, keeping
// the remaining TTL. When another client changed the value meanwhile, it
// most likely made it a plain integer: INCRBY is tried again first.
bool RedisBackend::incr_strict(RedisConnection &c, Bytes key, int64_t delta, int64_t ttl_ms_if_new,
                               bool create, int64_t *out)
{
    {
        c.command({"GET", key});
        RedisReply v = c.checked("GET");
        if (v->type == REDIS_REPLY_STRING)
            parse_counter(Bytes(v->str, v->len)); // CACHE_ENAN: nothing to do
    }
    try {
        for (int attempt = 0; attempt < kOptimisticTries; attempt++) {
            c.command({"WATCH", key});
            c.command({"GET", key});
            c.command({"PTTL", key});
            c.status("WATCH");
            RedisReply v = c.checked("GET");
            int64_t left = c.integer("PTTL");
            int64_t current = 0;
            int64_t ttl = ttl_ms_if_new;
            if (v->type != REDIS_REPLY_STRING && !create) {
                c.command({"UNWATCH"});
                c.status("UNWATCH");
                return false;
            }
            if (v->type == REDIS_REPLY_STRING) {
                current = parse_counter(Bytes(v->str, v->len));
                ttl = left == -1 ? 0 : std::max<int64_t>(left, 1);
            }
            int64_t next = add_counter(current, delta);
            char digits[24];
            c.command({"MULTI"});
            queue_set(c, key, Bytes(digits, format_counter(next, digits)), ttl);
            c.command({"EXEC"});
            c.status("MULTI");
            drain(c, 1, "SET");
            RedisReply exec = c.checked("EXEC");
            if (exec->type == REDIS_REPLY_ARRAY) {
                *out = next; // EXEC also ended the WATCH
                return true;
            }
            if (!create) {
                Counted done = incr_existing_once(c, key, delta, out);
                if (done != Counted::not_an_integer)
                    return done == Counted::stored;
                continue;
            }
            queue_incrby(c, key, delta);
            RedisReply r = c.reply("INCRBY");
            if (incr_reply(c, r.get(), delta, out))
                return true;
        }
    } catch (...) {
        // A failure here may leave a WATCH behind: close the connection.
        c.mark_broken();
        throw;
    }
    fail(CACHE_ETIMEOUT, opts_.where + ": INCRBY: the counter kept changing under " +
                             std::to_string(kOptimisticTries) + " attempts to update it");
}

bool RedisBackend::touch(Bytes key, int64_t ttl_ms)
{
    check_key(key);
    return run(true, [&](RedisConnection &c) {
        if (ttl_ms > 0) {
            c.command(3);
            c.arg("PEXPIRE");
            c.arg(key);
            c.arg(ttl_ms);
            return c.integer("PEXPIRE") == 1;
        }
        // PERSIST answers 0 both for "absent" and "had no TTL".
        c.command({"PERSIST", key});
        c.command({"EXISTS", key});
        c.integer("PERSIST");
        return c.integer("EXISTS") > 0;
    });
}

bool RedisBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    check_key(key);
    int64_t left = run(true, [&](RedisConnection &c) {
        c.command({"PTTL", key});
        return c.integer("PTTL");
    });
    if (left == -2)
        return false;
    *remaining_ms = left == -1 ? -1 : std::max<int64_t>(left, 1);
    return true;
}

// ------------------------------------------------------------ batches

void RedisBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    for (size_t i = 0; i < n; i++)
        check_key(keys[i]);
    run(true, [&](RedisConnection &c) {
        for (size_t i = 0; i < n; i++)
            values[i] = OwnedBuffer(); // a retry starts clean
        // Every MGET is queued first: one round trip for up to
        // kKeysPerCommand * kCommandsPerTrip keys. In a cluster, one MGET
        // per run of keys in one slot, and a plain GET for a key alone.
        for (size_t done = 0; done < n;) {
            size_t trip_end = std::min(n, done + kKeysPerCommand * kCommandsPerTrip);
            // MGET answers nil for a key of another type, where GET fails
            // (CACHE_ECORRUPT): an EXISTS in the same trip tells them apart.
            for (size_t i = done, m; i < trip_end; i += m) {
                m = run_length(keys, i, trip_end, kKeysPerCommand);
                if (m == 1 && opts_.per_slot_commands) {
                    c.command({"GET", keys[i]});
                    continue;
                }
                c.command("MGET", keys + i, m);
                c.command("EXISTS", keys + i, m);
            }
            bool other_type = false;
            for (size_t i = done, m; i < trip_end; i += m) {
                m = run_length(keys, i, trip_end, kKeysPerCommand);
                std::fill(statuses + i, statuses + i + m, CACHE_MISS);
                c.sink_next(values + i, statuses + i, m); // hits land in values[]
                if (m == 1 && opts_.per_slot_commands) {
                    RedisReply r = c.checked("GET");
                    if (statuses[i] != CACHE_OK && r->type != REDIS_REPLY_NIL)
                        c.fail_type(r.get(), "GET");
                    continue;
                }
                RedisReply r = c.checked("MGET");
                if (r->type != REDIS_REPLY_ARRAY || r->elements != m)
                    c.fail_type(r.get(), "MGET");
                int64_t hits = std::count(statuses + i, statuses + i + m, CACHE_OK);
                other_type |= c.integer("EXISTS") > hits;
            }
            if (other_type) // rare: GET each miss, which fails as get() does
                for (size_t i = done; i < trip_end; i++)
                    if (statuses[i] == CACHE_MISS) {
                        c.command({"GET", keys[i]});
                        c.sink_next(values + i, statuses + i, 1);
                        RedisReply r = c.checked("GET");
                        if (statuses[i] != CACHE_OK && r->type != REDIS_REPLY_NIL)
                            c.fail_type(r.get(), "GET");
                    }
            done = trip_end;
        }
    });
}

void RedisBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    for (size_t i = 0; i < n; i++) {
        check_key(keys[i]);
        check_value(values[i]);
    }
    run(true, [&](RedisConnection &c) {
        size_t i = 0;
        while (i < n) {
            // One round trip: up to kCommandsPerTrip commands or about
            // kBytesPerTrip bytes, whichever comes first.
            size_t commands = 0, bytes = 0;
            while (i < n && commands < kCommandsPerTrip && bytes < kBytesPerTrip) {
                if (ttl_ms > 0) {
                    queue_set(c, keys[i], values[i], ttl_ms);
                    bytes += keys[i].size() + values[i].size();
                    i++;
                } else {
                    size_t most = run_length(keys, i, n, kKeysPerCommand);
                    size_t m = 0;
                    while (m < most && (m == 0 || bytes < kBytesPerTrip)) {
                        bytes += keys[i + m].size() + values[i + m].size();
                        m++;
                    }
                    c.command(1 + 2 * m);
                    c.arg("MSET");
                    for (size_t j = 0; j < m; j++) {
                        c.arg(keys[i + j]);
                        c.arg(values[i + j]);
                    }
                    i += m;
                }
                commands++;
            }
            drain(c, commands, ttl_ms > 0 ? "SET" : "MSET");
        }
    });
}

size_t RedisBackend::del_many(const Bytes *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_key(keys[i]);
    return run(false, [&](RedisConnection &c) {
        size_t removed = 0;
        for (size_t done = 0; done < n;) {
            size_t trip_end = std::min(n, done + kKeysPerCommand * kCommandsPerTrip);
            size_t commands = 0;
            for (size_t i = done, m; i < trip_end; i += m) {
                m = run_length(keys, i, trip_end, kKeysPerCommand);
                c.command("DEL", keys + i, m);
                commands++;
            }
            removed += size_t(drain(c, commands, "DEL"));
            done = trip_end;
        }
        // Their leases and stale copies, as del() does (counted apart).
        if (opts_.per_slot_commands) {
            // A cluster node: each key's two in one command (one slot).
            for (size_t done = 0; done < n;) {
                size_t trip_end = std::min(n, done + kCommandsPerTrip);
                std::vector<std::string> aux; // alive until written
                aux.reserve(2 * (trip_end - done));
                for (size_t i = done; i < trip_end; i++) {
                    aux.push_back(lease_key(keys[i]));
                    aux.push_back(meta_key(keys[i]));
                    c.command({"DEL", aux[aux.size() - 2], aux.back()});
                }
                drain(c, trip_end - done, "DEL");
                done = trip_end;
            }
            return removed;
        }
        for (size_t done = 0; done < n;) {
            size_t trip_end = std::min(n, done + kKeysPerCommand);
            std::vector<std::string> aux;
            aux.reserve(2 * (trip_end - done));
            for (size_t i = done; i < trip_end; i++) {
                aux.push_back(lease_key(keys[i]));
                aux.push_back(meta_key(keys[i]));
            }
            std::vector<Bytes> views(aux.begin(), aux.end());
            c.command("DEL", views.data(), views.size());
            drain(c, 1, "DEL");
            done = trip_end;
        }
        return removed;
    });
}

// ------------------------------------------------------------ management

RedisReply RedisBackend::call(std::initializer_list<Bytes> args, const char *what)
{
    return run(true, [&](RedisConnection &c) {
        c.command(args);
        return c.checked(what);
    });
}

void RedisBackend::ping()
{
    run(true, [&](RedisConnection &c) {
        c.command({"PING"});
        c.status("PING");
    });
}

std::string RedisBackend::info()
{
    std::string text = run(true, [&](RedisConnection &c) {
        c.command({"INFO"});
        RedisReply r = c.checked("INFO");
        if (r->type != REDIS_REPLY_STRING)
            c.fail_type(r.get(), "INFO");
        return std::string(r->str, r->len);
    });
    RedisPool::Counts n = pool_.get().counts();
    text += "\r\n# Unicache\r\n";
    text += "uri:" + opts_.display + "\r\n";
    text += "prefix_bytes:" + std::to_string(opts_.prefix.size()) + "\r\n";
    text += "pool_size:" + std::to_string(opts_.pool_size) + "\r\n";
    text += "connections_open:" + std::to_string(n.open) + "\r\n";
    text += "connections_idle:" + std::to_string(n.idle) + "\r\n";
    text += "connects_total:" + std::to_string(n.connects) + "\r\n";
    text += "connection_failures_total:" + std::to_string(n.failures) + "\r\n";
    text += "dead_idle_connections_replaced:" + std::to_string(n.replaced) + "\r\n";
    text += "timeout_ms:" + std::to_string(opts_.timeout_ms) + "\r\n";
    text += "connect_timeout_ms:" + std::to_string(opts_.connect_timeout_ms) + "\r\n";
    text += "max_retries:" + std::to_string(opts_.max_retries) + "\r\n";
    text += "retry_delay_ms:" + std::to_string(opts_.retry_delay_ms) + "\r\n";
    text += "health_check_interval_ms:" + std::to_string(opts_.health_check_interval_ms) + "\r\n";
    text += "spin_us:" + std::to_string(opts_.spin_us) + "\r\n";
    text += tracking_info();
    return text;
}

BackendStats RedisBackend::stats(Bytes prefix)
{
    BackendStats s;
    // Counting one prefix's keys means a SCAN of the whole database, too
    // slow for a statistics call: size is known only without a prefix, where
    // DBSIZE answers in O(1). Server-wide figures are in INFO (info()).
    if (prefix.empty()) {
        try {
            s.size = run(true, [&](RedisConnection &c) {
                c.command({"DBSIZE"});
                return c.integer("DBSIZE");
            });
        } catch (const Error &) {
            s.size = -1; // statistics never fail; the server is unreachable
        }
    }
    return s;
}

std::unique_ptr<Backend> make_redis_backend(Config &config)
{
    RedisOptions o = parse_redis_options(config);
    config.params.finish(config.scheme); // every parameter checked before connecting
    return std::make_unique<RedisBackend>(std::move(o));
}

} // namespace unicache
