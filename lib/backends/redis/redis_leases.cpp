// Stampede leases on Redis: for a key K, the token lives in K + kTagMark +
// "lease" (a string "<token>:<on_miss>" that expires by itself after
// lease_ttl, so a crashed holder's lease is reclaimed by the server), and
// with stale_ttl or early_refresh the last fill's copy and compute time in
// the hash K + kTagMark + "meta", which outlives K by stale_ttl. Every step
// is one Lua script: a grant is SET NX, a lease-checked set compares the
// token and writes K in the same script, and a delete (del, del_many)
// removes both keys, so a late set of outdated data finds no token.
#include <algorithm>
#include <vector>

#include <hiredis.h>

#include "core/counter_text.h"
#include "core/error.h"
#include "core/expiry.h"
#include "redis_backend.h"
#include "redis_slot.h"

namespace unicache {

// KEYS: K, lease, meta. ARGV: token, lease_ttl ms, early (0/1), want_meta
// (0/1), stale_extend ms ('0': none). Returns {state, value, pttl,
// compute_ms, granted}, state 0 hit, 1 stale, 2 granted, 3 busy.
const char RedisBackend::kLeaseGetSource[] = R"lua(
local v = redis.call('GET', KEYS[1])
if v then
  local pttl, c, g = 0, 0, 0
  if ARGV[4] == '1' then
    pttl = redis.call('PTTL', KEYS[1])
    c = tonumber(redis.call('HGET', KEYS[3], 'c') or '0')
  end
  if ARGV[3] == '1' and redis.call('SET', KEYS[2], ARGV[1] .. ':0', 'PX', ARGV[2], 'NX') then
    g = 1
  end
  return {0, v, pttl, c, g}
end
local m = redis.call('HMGET', KEYS[3], 'v', 'c')
local g = 0
if redis.call('SET', KEYS[2], ARGV[1] .. ':1', 'PX', ARGV[2], 'NX') then g = 1 end
if m[1] then
  if g == 1 and ARGV[5] ~= '0' and redis.call('PTTL', KEYS[3]) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', KEYS[3], ARGV[5])
  end
  return {1, m[1], 0, tonumber(m[2] or '0'), g}
end
if g == 1 then return {2, '', 0, 0, 1} end
return {3, '', 0, 0, 0}
)lua";

// KEYS: K, lease, meta, then the tag hashes to index K in (as the
// set_tagged script does). ARGV: token ('0': store whatever holds the lease),
// value, ttl ms ('0': none), keep_meta (0/1), stale_ttl ms, compute_ms,
// the meta hash's lifetime in ms (ttl + stale_ttl, summed in C++: Lua's
// numbers are doubles). Returns 1 stored, 0 refused.
const char RedisBackend::kLeaseSetSource[] = R"lua(
if ARGV[1] ~= '0' then
  local l = redis.call('GET', KEYS[2])
  if not l then return 0 end
  local sep = string.find(l, ':', 1, true)
  if not sep or string.sub(l, 1, sep - 1) ~= ARGV[1] then return 0 end
  if string.sub(l, sep + 1) == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('DEL', KEYS[2])
    return 0
  end
end
for i = 4, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply('WRONGTYPE tag index key holds a ' .. t)
  end
end
if #KEYS > 3 then
  -- A stale copy is indexed too ('m' + its fingerprint), so that an
  -- invalidation removes it; the index then lives as long as the copy.
  local life = ARGV[3]
  local kept = ARGV[4] == '1' and ARGV[5] ~= '0' and ARGV[3] ~= '0'
  if kept then life = ARGV[7] end
  local ttl = tonumber(life)
  local fp = redis.sha1hex(ARGV[2])
  for i = 4, #KEYS do
    local left = redis.call('PTTL', KEYS[i])
    redis.call('HSET', KEYS[i], KEYS[1], fp)
    if kept then redis.call('HSET', KEYS[i], KEYS[3], 'm' .. fp) end
    if ttl == 0 then
      if left >= 0 then redis.call('PERSIST', KEYS[i]) end
    elseif left == -2 or (left >= 0 and left < ttl) then
      redis.call('PEXPIRE', KEYS[i], life)
    end
  end
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
redis.call('DEL', KEYS[2], KEYS[3])
if ARGV[4] == '1' and ARGV[3] ~= '0' then
  if ARGV[5] ~= '0' then
    redis.call('HSET', KEYS[3], 'v', ARGV[2], 'c', ARGV[6])
  else
    redis.call('HSET', KEYS[3], 'c', ARGV[6])
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
end
return 1
)lua";

// KEYS: lease. ARGV: token.
const char RedisBackend::kLeaseReleaseSource[] = R"lua(
local l = redis.call('GET', KEYS[1])
if l and string.sub(l, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then redis.call('DEL', KEYS[1]) end
return 0
)lua";

std::string RedisBackend::aux_key(Bytes key, const char *what) const
{
    std::string k(key);
    k.append(kTagMark);
    if (!opts_.per_slot_commands)
        return k.append(what);
    // In a cluster: key + mark + "{H}" + what, where H hashes to key's slot
    // (the first '{' of a key without a hash tag of its own is ours; a key
    // with one keeps it). A key with an unmatched '{' would pull ours into
    // its own: then the hash tag goes first.
    int slot = redis_key_slot(key);
    const std::string &h = redis_slot_tag(slot);
    k.append(1, '{').append(h).append(1, '}').append(what);
    if (redis_key_slot(k) == slot)
        return k;
    std::string first = "{" + h + "}";
    return first.append(key.data(), key.size()).append(kTagMark).append(what);
}

namespace {

std::string decimal(uint64_t v)
{
    return std::to_string(v);
}

int64_t int_element(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

} // namespace

void RedisBackend::lease_get(Bytes key, const LeaseRequest &req, LeaseReply *reply)
{
    check_key(key);
    std::string lease = lease_key(key), meta = meta_key(key);
    std::string token = decimal(req.token), ttl = std::to_string(req.lease_ttl_ms),
                extend = std::to_string(std::min(req.stale_extend_ms, kMaxTtlMs));
    Bytes keys[3] = {key, lease, meta};
    Bytes args[5] = {token, ttl, req.early ? "1" : "0", req.want_meta ? "1" : "0", extend};
    // Not replayed after a lost reply: a grant may have happened; the
    // lease then runs out by itself.
    run(false, [&](RedisConnection &c) {
        RedisReply r = eval_reply(c, lease_get_, keys, 3, args, 5);
        if (r->type == REDIS_REPLY_ERROR)
            c.fail_reply(r.get(), "lease_get");
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
            r->element[1]->type != REDIS_REPLY_STRING)
            c.fail_type(r.get(), "lease_get");
        int64_t state = int_element(r->element[0]);
        static const LeaseState states[] = {LeaseState::hit, LeaseState::stale, LeaseState::granted,
                                            LeaseState::busy};
        if (state < 0 || state > 3)
            c.fail_type(r.get(), "lease_get");
        reply->state = states[state];
        if (state <= 1)
            reply->value.assign(r->element[1]->str, r->element[1]->len);
        int64_t pttl = int_element(r->element[2]);
        reply->fresh_left_ms = pttl > 0 ? pttl : 0;
        reply->compute_ms = int_element(r->element[3]);
        reply->granted = int_element(r->element[4]) == 1;
    });
}

bool RedisBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    check_key(key);
    check_value(value);
    std::string lease = lease_key(key), meta = meta_key(key);
    std::string tok = decimal(token), ttl = std::to_string(fill.ttl_ms),
                stale = std::to_string(fill.stale_ttl_ms),
                compute = std::to_string(fill.compute_ms),
                kept = std::to_string(std::min(fill.ttl_ms, kMaxTtlMs) +
                                      std::min(fill.stale_ttl_ms, kMaxTtlMs));
    std::vector<std::string> tag_keys;
    int slot = opts_.per_slot_commands ? redis_key_slot(key) : -1;
    for (size_t i = 0; i < fill.ntags; i++)
        tag_keys.push_back(slot >= 0 ? slot_tag_key(fill.tags[i], slot) : tag_key(fill.tags[i]));
    std::vector<Bytes> keys = {key, lease, meta};
    for (const std::string &k : tag_keys)
        keys.push_back(k);
    Bytes args[7] = {tok, value, ttl, fill.keep_meta ? "1" : "0", stale, compute, kept};
    return run(false, [&](RedisConnection &c) {
        return eval(c, lease_set_, keys.data(), keys.size(), args, 7) == 1;
    });
}

void RedisBackend::lease_release(Bytes key, uint64_t token)
{
    check_key(key);
    std::string lease = lease_key(key), tok = decimal(token);
    Bytes keys[1] = {lease};
    Bytes args[1] = {tok};
    run(true, [&](RedisConnection &c) { eval(c, lease_release_, keys, 1, args, 1); });
}

} // namespace unicache
