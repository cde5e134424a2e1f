// Tags as Redis hashes maintained by two Lua scripts (see redis_backend.h).
#include <cstring>

#include <hiredis.h>

#include "core/counter_text.h"
#include "core/tag_name.h"
#include "redis_backend.h"
#include "redis_slot.h"

namespace unicache {

const std::string RedisBackend::kTagMark("\xff"
                                         "unicache-tag\xff",
                                         14);

// KEYS[1] entry, KEYS[2..] tag hashes; ARGV[1] value, ARGV[2] TTL in ms ("0":
// none). Indexes first: an invalidation running right after still finds the
// entry. A tag hash lives as long as its longest-lived entry.
const char RedisBackend::kTagSetSource[] = R"lua(
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

// KEYS: tag hashes. Deletes each member (an entry, or a stale copy marked
// "m") whose value still has the fingerprint it was tagged with, then the
// hash; returns how many entries.
const char RedisBackend::kTagInvalidateSource[] = R"lua(
local removed = 0
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local fields = redis.call('HGETALL', KEYS[i])
    for j = 1, #fields, 2 do
      if string.sub(fields[j + 1], 1, 1) == 'm' then
        -- a stale copy (redis_leases.cpp): goes if it is still that value's
        local v = redis.pcall('HGET', fields[j], 'v')
        if type(v) == 'string' and 'm' .. redis.sha1hex(v) == fields[j + 1] then
          redis.call('DEL', fields[j])
        end
      else
        local v = redis.pcall('GET', fields[j])
        if type(v) == 'string' and redis.sha1hex(v) == fields[j + 1] then
          redis.call('DEL', fields[j])
          removed = removed + 1
        end
      end
    end
    redis.call('DEL', KEYS[i])
  end
end
return removed
)lua";

// KEYS[1] a tag's registry (cluster): the slots that hold its indexes.
// ARGV[1] slot, ARGV[2] TTL in ms ("0": none); the same lifetime rule as an
// index's.
const char RedisBackend::kTagRegisterSource[] = R"lua(
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'set' then
  return redis.error_reply('WRONGTYPE tag registry key holds a ' .. t)
end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
if ttl == 0 then
  if left >= 0 then redis.call('PERSIST', KEYS[1]) end
elseif left == -2 or (left >= 0 and left < ttl) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
)lua";

bool RedisBackend::is_tag_index(const char *data, size_t len)
{
    return len >= kTagMark.size() && memmem(data, len, kTagMark.data(), kTagMark.size());
}

std::string RedisBackend::tag_key(Bytes full_tag) const
{
    // The core hands tags over as tag_scope(prefix) + tag; the index key
    // keeps its own unambiguous form, the prefix then a mark then the tag.
    Bytes name = full_tag.substr(std::min(tag_scope_size_, full_tag.size()));
    std::string k;
    k.reserve(opts_.prefix.size() + kTagMark.size() + name.size());
    k.append(opts_.prefix).append(kTagMark).append(name.data(), name.size());
    return k;
}

std::string RedisBackend::slot_tag_key(Bytes full_tag, int slot) const
{
    Bytes name = full_tag.substr(std::min(tag_scope_size_, full_tag.size()));
    const std::string &hash_tag = redis_slot_tag(slot);
    std::string k;
    k.reserve(opts_.prefix.size() + kTagMark.size() + hash_tag.size() + 2 + name.size());
    k.append(opts_.prefix).append(kTagMark).append(1, '{').append(hash_tag).append(1, '}');
    k.append(name.data(), name.size());
    if (redis_key_slot(k) != slot)
        // The prefix holds a '{' that makes its own hash tag.
        fail(CACHE_ENOTSUP, opts_.where +
                                ": tags on redis-cluster:// need a prefix without '{' (the "
                                "tag index of an entry must share its hash slot)");
    return k;
}

void RedisBackend::register_tag_slot(Bytes registry_key, int slot, int64_t ttl_ms)
{
    char slot_text[24], ttl_text[24];
    Bytes args[2] = {Bytes(slot_text, format_counter(slot, slot_text)),
                     Bytes(ttl_text, format_counter(ttl_ms, ttl_text))};
    run(true, [&](RedisConnection &c) { eval(c, tag_register_, &registry_key, 1, args, 2); });
}

size_t RedisBackend::invalidate_index_keys(const std::vector<std::string> &index_keys)
{
    std::vector<Bytes> keys(index_keys.begin(), index_keys.end());
    return run(false, [&](RedisConnection &c) {
        return size_t(eval(c, tag_invalidate_, keys.data(), keys.size(), nullptr, 0));
    });
}

const std::string &RedisBackend::script_sha(RedisConnection &c, Script &s)
{
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.sha.empty()) {
        c.command({"SCRIPT", "LOAD", s.source});
        RedisReply r = c.checked("SCRIPT LOAD");
        if (r->type != REDIS_REPLY_STRING)
            c.fail_type(r.get(), "SCRIPT LOAD");
        s.sha.assign(r->str, r->len);
    }
    return s.sha;
}

RedisReply RedisBackend::eval_reply(RedisConnection &c, Script &s, const Bytes *keys, size_t nkeys,
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
        if (pass == 0 && RedisConnection::is_error(r.get(), "NOSCRIPT"))
            continue;
        return r;
    }
    fail(CACHE_EINTERNAL, opts_.where + ": " + s.name + ": script cache keeps failing");
}

int64_t RedisBackend::eval(RedisConnection &c, Script &s, const Bytes *keys, size_t nkeys,
                           const Bytes *args, size_t nargs)
{
    RedisReply r = eval_reply(c, s, keys, nkeys, args, nargs);
    if (r->type == REDIS_REPLY_ERROR)
        c.fail_reply(r.get(), s.name);
    if (r->type != REDIS_REPLY_INTEGER)
        c.fail_type(r.get(), s.name);
    return r->integer;
}

void RedisBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                              size_t ntags)
{
    check_key(key);
    check_value(value);
    if (ntags == 0) {
        set(key, value, ttl_ms);
        return;
    }
    std::vector<std::string> tag_keys;
    tag_keys.reserve(ntags);
    std::vector<Bytes> keys;
    keys.reserve(ntags + 1);
    keys.push_back(key);
    // In a cluster, the indexes live in the entry's slot (the cluster
    // backend has registered the slot with each tag first).
    int slot = opts_.per_slot_commands ? redis_key_slot(key) : -1;
    for (size_t i = 0; i < ntags; i++)
        tag_keys.push_back(slot >= 0 ? slot_tag_key(tags[i], slot) : tag_key(tags[i]));
    for (const std::string &k : tag_keys)
        keys.push_back(k);
    char ttl_text[24];
    Bytes args[2] = {value, Bytes(ttl_text, format_counter(ttl_ms, ttl_text))};
    run(true, [&](RedisConnection &c) { eval(c, tag_set_, keys.data(), keys.size(), args, 2); });
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

} // namespace unicache
