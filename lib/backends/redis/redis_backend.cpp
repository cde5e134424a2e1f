#include "redis_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_set>

#include <hiredis.h>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "redis_glob.h"

namespace unicache {

const std::string RedisBackend::kTagMark("\xff" "unicache-tag\xff", 14);

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

// KEYS[1] entry, KEYS[2..] tag hashes; ARGV[1] value, ARGV[2] TTL in ms ("0":
// none). Indexes first: an invalidation running right after still finds the
// entry. A tag hash lives as long as its longest-lived entry.
const char kTagSetScript[] = R"lua(
for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply('WRONGTYPE tag index key holds a ' .. t)
  end
end
local ttl = tonumber(ARGV[2])
local fp = redis.sha1hex(ARGV[1])
for i = 2, #KEYS do
  local left = redis.call('PTTL', KEYS[i])
  redis.call('HSET', KEYS[i], KEYS[1], fp)
  if ttl == 0 then
    if left >= 0 then redis.call('PERSIST', KEYS[i]) end
  elseif left == -2 or (left >= 0 and left < ttl) then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
)lua";

// KEYS: tag hashes. Deletes each member whose value still has the
// fingerprint it was tagged with, then the hash; returns how many entries.
const char kTagInvalidateScript[] = R"lua(
local removed = 0
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local fields = redis.call('HGETALL', KEYS[i])
    for j = 1, #fields, 2 do
      local v = redis.pcall('GET', fields[j])
      if type(v) == 'string' and redis.sha1hex(v) == fields[j + 1] then
        redis.call('DEL', fields[j])
        removed = removed + 1
      end
    end
    redis.call('DEL', KEYS[i])
  end
end
return removed
)lua";

bool reply_is(const redisReply *r, const char *prefix)
{
    size_t n = std::strlen(prefix);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && std::memcmp(r->str, prefix, n) == 0;
}

bool has_tag_mark(const char *data, size_t len)
{
    const std::string &m = RedisBackend::kTagMark;
    return len >= m.size() && memmem(data, len, m.data(), m.size()) != nullptr;
}

[[noreturn]] void unexpected(const RedisOptions &o, const char *what, const redisReply *r)
{
    throw RedisIoError(CACHE_EIO,
                       o.where + ": " + what + ": unexpected reply type " +
                           std::to_string(r->type),
                       true);
}

void check_value(const RedisOptions &o, Bytes value)
{
    if (value.size() > kMaxValue)
        fail(CACHE_ETOOBIG, "value is " + std::to_string(value.size()) + " bytes; " + o.where +
                                " stores strings of at most 512 MB (proto-max-bulk-len)");
}

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

// Queues one command: name followed by keys[0, n).
void queue_keys(RedisConnection &c, const char *name, const Bytes *keys, size_t n)
{
    c.command(n + 1);
    c.arg(name);
    for (size_t i = 0; i < n; i++)
        c.arg(keys[i]);
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
    if (reply_is(r, "ERR increment or decrement would overflow"))
        fail(CACHE_ERANGE, "counter + " + std::to_string(delta) +
                               " would overflow a signed 64-bit integer");
    if (reply_is(r, "ERR value is not an integer"))
        return false;
    if (reply_is(r, "WRONGTYPE"))
        fail(CACHE_ENAN, "stored value is not a decimal integer: " + c.options().where +
                             " holds a list, set, hash or other non-string type there");
    c.fail_reply(r, "INCRBY");
}

} // namespace

RedisBackend::RedisBackend(RedisOptions opts)
    : opts_(std::move(opts)), pool_(opts_), tag_set_("set_tagged", kTagSetScript),
      tag_invalidate_("invalidate_tags", kTagInvalidateScript)
{
    if (!opts_.lazy_connect)
        ping(); // a wrong password, database or address fails cache_open
}

template <typename Op>
auto RedisBackend::run(bool replay_safe, Op &&op)
    -> decltype(op(std::declval<RedisConnection &>()))
{
    int64_t start = 0;
    for (int attempt = 0;; attempt++) {
        try {
            RedisPool::Lease conn = pool_.acquire(!replay_safe);
            return op(*conn);
        } catch (const RedisIoError &e) {
            pool_.note_failure();
            bool retry = e.status() == CACHE_EUNAVAILABLE && (replay_safe || !e.maybe_executed());
            int64_t delay = opts_.retry_delay_ms << std::min(attempt, 20);
            int64_t now = monotonic_ms();
            if (!start)
                start = now;
            // Never sleep past timeout_ms from the first failure: a call
            // against a dead server returns within its timeout.
            if (!retry || attempt >= opts_.max_retries || now - start + delay > opts_.timeout_ms) {
                if (attempt == 0)
                    throw;
                throw Error(e.status(), std::string(e.what()) + " (" +
                                            std::to_string(attempt + 1) + " attempts)");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        }
    }
}

// ------------------------------------------------------------ single keys

void RedisBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_value(opts_, value);
    run(true, [&](RedisConnection &c) {
        queue_set(c, key, value, ttl_ms);
        c.status("SET");
    });
}

bool RedisBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_value(opts_, value);
    return run(false, [&](RedisConnection &c) {
        queue_set(c, key, value, ttl_ms, true);
        RedisReply r = c.checked("SET NX");
        return r->type == REDIS_REPLY_STATUS;
    });
}

bool RedisBackend::get(Bytes key, OwnedBuffer *out)
{
    return run(true, [&](RedisConnection &c) {
        c.command({"GET", key});
        int status = CACHE_MISS;
        c.sink_next(out, &status, 1); // a hit lands in *out directly
        RedisReply r = c.checked("GET");
        if (status == CACHE_OK)
            return true;
        if (r->type != REDIS_REPLY_NIL)
            unexpected(opts_, "GET", r.get());
        return false;
    });
}

bool RedisBackend::del(Bytes key)
{
    return run(false, [&](RedisConnection &c) {
        c.command({"DEL", key});
        return c.integer("DEL") > 0;
    });
}

bool RedisBackend::exists(Bytes key)
{
    return run(true, [&](RedisConnection &c) {
        c.command({"EXISTS", key});
        return c.integer("EXISTS") > 0;
    });
}

int64_t RedisBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
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
                unexpected(opts_, "EXEC", exec.get());
            // Keep only the INCRBY result; the array owns it.
            redisReply *res = exec->element[1];
            exec->element[1] = nullptr;
            r.reset(res);
        } else {
            queue_incrby(c, key, delta);
            r = c.reply("INCRBY");
        }
        int64_t value;
        if (incr_reply(c, r.get(), delta, &value))
            return value;
        return incr_strict(c, key, delta, ttl_ms_if_new);
    });
}

// Redis parses counters more strictly than the contract ("007" and "-0" are
// valid counters, but not Redis integers). For those, read the value, add
// here with the contract's own rules, and write it back under WATCH, keeping
// the remaining TTL. When another client changed the value meanwhile, it
// most likely made it a plain integer: INCRBY is tried again first.
int64_t RedisBackend::incr_strict(RedisConnection &c, Bytes key, int64_t delta,
                                  int64_t ttl_ms_if_new)
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
            if (exec->type == REDIS_REPLY_ARRAY)
                return next; // EXEC also ended the WATCH
            queue_incrby(c, key, delta);
            RedisReply r = c.reply("INCRBY");
            if (incr_reply(c, r.get(), delta, &next))
                return next;
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
    run(true, [&](RedisConnection &c) {
        for (size_t i = 0; i < n; i++)
            values[i] = OwnedBuffer(); // a retry starts clean
        // Every MGET is queued first: one round trip for up to
        // kKeysPerCommand * kCommandsPerTrip keys.
        for (size_t done = 0; done < n;) {
            size_t trip_end = std::min(n, done + kKeysPerCommand * kCommandsPerTrip);
            for (size_t i = done; i < trip_end; i += kKeysPerCommand)
                queue_keys(c, "MGET", keys + i, std::min(kKeysPerCommand, trip_end - i));
            for (size_t i = done; i < trip_end; i += kKeysPerCommand) {
                size_t m = std::min(kKeysPerCommand, trip_end - i);
                std::fill(statuses + i, statuses + i + m, CACHE_MISS);
                c.sink_next(values + i, statuses + i, m); // hits land in values[]
                RedisReply r = c.checked("MGET");
                if (r->type != REDIS_REPLY_ARRAY || r->elements != m)
                    unexpected(opts_, "MGET", r.get());
            }
            done = trip_end;
        }
    });
}

void RedisBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    for (size_t i = 0; i < n; i++)
        check_value(opts_, values[i]);
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
                    size_t m = 0;
                    while (i + m < n && m < kKeysPerCommand &&
                           (m == 0 || bytes < kBytesPerTrip)) {
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
    return run(false, [&](RedisConnection &c) {
        size_t removed = 0;
        for (size_t done = 0; done < n;) {
            size_t trip_end = std::min(n, done + kKeysPerCommand * kCommandsPerTrip);
            size_t commands = 0;
            for (size_t i = done; i < trip_end; i += kKeysPerCommand) {
                queue_keys(c, "DEL", keys + i, std::min(kKeysPerCommand, trip_end - i));
                commands++;
            }
            removed += size_t(drain(c, commands, "DEL"));
            done = trip_end;
        }
        return removed;
    });
}

// ------------------------------------------------------------ patterns

namespace {

// One SCAN step: queues SCAN cursor [MATCH pattern] COUNT count.
void queue_scan(RedisConnection &c, const std::string &cursor, const RedisMatch &m,
                size_t count)
{
    bool all = m.pattern == "*";
    c.command(all ? 4 : 6);
    c.arg("SCAN");
    c.arg(cursor);
    if (!all) {
        c.arg("MATCH");
        c.arg(m.pattern);
    }
    c.arg("COUNT");
    c.arg(int64_t(count));
}

// Reads a SCAN reply: sets *cursor and returns the reply that owns the keys.
RedisReply read_scan(RedisConnection &c, const RedisOptions &o, std::string *cursor)
{
    RedisReply r = c.checked("SCAN");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        unexpected(o, "SCAN", r.get());
    cursor->assign(r->element[0]->str, r->element[0]->len);
    return r;
}

} // namespace

void RedisBackend::keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out)
{
    RedisMatch m = redis_match(pattern);
    run(true, [&](RedisConnection &c) {
        out->clear();
        // SCAN may return a key twice (when the table is resized meanwhile).
        std::unordered_set<std::string> seen;
        std::string cursor = "0";
        do {
            queue_scan(c, cursor, m, opts_.scan_count);
            RedisReply r = read_scan(c, opts_, &cursor);
            const redisReply *batch = r->element[1];
            for (size_t i = 0; i < batch->elements; i++) {
                const redisReply *k = batch->element[i];
                if (k->type != REDIS_REPLY_STRING || has_tag_mark(k->str, k->len) ||
                    !pattern.match(Bytes(k->str, k->len)))
                    continue;
                std::string key(k->str, k->len);
                if (seen.insert(key).second) {
                    out->push_back(std::move(key));
                    if (limit && out->size() >= limit)
                        return;
                }
            }
        } while (cursor != "0");
    });
}

// SCAN and DEL in one pipeline: the DEL of one batch travels with the SCAN
// for the next. Returns how many keys DEL removed.
size_t RedisBackend::scan_delete(RedisConnection &c, const GlobPattern &glob, bool skip_tags)
{
    RedisMatch m = redis_match(glob);
    size_t removed = 0;
    bool del_queued = false;
    RedisReply held; // owns the keys of the queued DEL until it is written
    std::vector<Bytes> batch;
    std::string cursor = "0";
    do {
        queue_scan(c, cursor, m, opts_.scan_count);
        if (del_queued)
            removed += size_t(c.integer("DEL"));
        RedisReply r = read_scan(c, opts_, &cursor);
        const redisReply *found = r->element[1];
        batch.clear();
        for (size_t i = 0; i < found->elements; i++) {
            const redisReply *k = found->element[i];
            if (k->type != REDIS_REPLY_STRING || (skip_tags && has_tag_mark(k->str, k->len)) ||
                !glob.match(Bytes(k->str, k->len)))
                continue;
            batch.emplace_back(k->str, k->len);
        }
        del_queued = !batch.empty();
        if (del_queued)
            queue_keys(c, "DEL", batch.data(), batch.size());
        held = std::move(r);
    } while (cursor != "0");
    if (del_queued)
        removed += size_t(c.integer("DEL"));
    return removed;
}

size_t RedisBackend::delete_pattern(const GlobPattern &pattern)
{
    return run(false, [&](RedisConnection &c) { return scan_delete(c, pattern, true); });
}

void RedisBackend::clear(Bytes prefix)
{
    // The prefix's own tag hashes go too.
    GlobPattern all(GlobPattern::escape(prefix) + "*");
    run(true, [&](RedisConnection &c) { scan_delete(c, all, false); });
}

// ------------------------------------------------------------ tags

std::string RedisBackend::tag_key(Bytes full_tag) const
{
    // The core hands tags over with the prefix in front.
    Bytes name = full_tag.substr(std::min(opts_.prefix.size(), full_tag.size()));
    std::string k;
    k.reserve(opts_.prefix.size() + kTagMark.size() + name.size());
    k.append(opts_.prefix).append(kTagMark).append(name.data(), name.size());
    return k;
}

const std::string &RedisBackend::script_sha(RedisConnection &c, Script &s)
{
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.sha.empty()) {
        c.command({"SCRIPT", "LOAD", s.source});
        RedisReply r = c.checked("SCRIPT LOAD");
        if (r->type != REDIS_REPLY_STRING)
            unexpected(opts_, "SCRIPT LOAD", r.get());
        s.sha.assign(r->str, r->len);
    }
    return s.sha;
}

int64_t RedisBackend::eval(RedisConnection &c, Script &s, const Bytes *keys, size_t nkeys,
                           const Bytes *args, size_t nargs)
{
    std::string sha = script_sha(c, s);
    for (int pass = 0; pass < 2; pass++) {
        // EVALSHA; EVAL when the server has forgotten the script (restart,
        // SCRIPT FLUSH), which also caches it again.
        c.command(3 + nkeys + nargs);
        c.arg(pass == 0 ? "EVALSHA" : "EVAL");
        c.arg(pass == 0 ? Bytes(sha) : Bytes(s.source));
        c.arg(int64_t(nkeys));
        for (size_t i = 0; i < nkeys; i++)
            c.arg(keys[i]);
        for (size_t i = 0; i < nargs; i++)
            c.arg(args[i]);
        RedisReply r = c.reply(s.name);
        if (pass == 0 && reply_is(r.get(), "NOSCRIPT"))
            continue;
        if (r->type == REDIS_REPLY_ERROR)
            c.fail_reply(r.get(), s.name);
        if (r->type != REDIS_REPLY_INTEGER)
            unexpected(opts_, s.name, r.get());
        return r->integer;
    }
    fail(CACHE_EINTERNAL, opts_.where + ": " + s.name + ": script cache keeps failing");
}

void RedisBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                              size_t ntags)
{
    check_value(opts_, value);
    if (ntags == 0) {
        set(key, value, ttl_ms);
        return;
    }
    std::vector<std::string> tag_keys;
    tag_keys.reserve(ntags);
    std::vector<Bytes> keys;
    keys.reserve(ntags + 1);
    keys.push_back(key);
    for (size_t i = 0; i < ntags; i++) {
        tag_keys.push_back(tag_key(tags[i]));
        keys.push_back(tag_keys.back());
    }
    char ttl_text[24];
    Bytes args[2] = {value, Bytes(ttl_text, format_counter(ttl_ms, ttl_text))};
    run(true,
        [&](RedisConnection &c) { eval(c, tag_set_, keys.data(), keys.size(), args, 2); });
}

size_t RedisBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    if (n == 0)
        return 0;
    std::vector<std::string> tag_keys;
    tag_keys.reserve(n);
    for (size_t i = 0; i < n; i++)
        tag_keys.push_back(tag_key(tags[i]));
    std::vector<Bytes> keys(tag_keys.begin(), tag_keys.end());
    return run(false, [&](RedisConnection &c) {
        return size_t(eval(c, tag_invalidate_, keys.data(), keys.size(), nullptr, 0));
    });
}

// ------------------------------------------------------------ management

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
            unexpected(opts_, "INFO", r.get());
        return std::string(r->str, r->len);
    });
    RedisPool::Counts n = pool_.counts();
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
    return std::make_unique<RedisBackend>(parse_redis_options(config));
}

} // namespace unicache
