// keys, delete_pattern and clear: SCAN ... MATCH in batches, every key
// checked again with GlobPattern::match (see redis_glob.h), deletes
// pipelined with the next SCAN step.
#include <algorithm>
#include <unordered_set>

#include <hiredis.h>

#include "redis_backend.h"
#include "redis_glob.h"
#include "redis_slot.h"

namespace unicache {

namespace {

// One SCAN step: queues SCAN cursor [MATCH pattern] COUNT count.
void queue_scan(RedisConnection &c, const std::string &cursor, const RedisMatch &m, size_t count)
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
RedisReply read_scan(RedisConnection &c, std::string *cursor)
{
    RedisReply r = c.checked("SCAN");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        c.fail_type(r.get(), "SCAN");
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
            RedisReply r = read_scan(c, &cursor);
            const redisReply *batch = r->element[1];
            for (size_t i = 0; i < batch->elements; i++) {
                const redisReply *k = batch->element[i];
                if (k->type != REDIS_REPLY_STRING || is_tag_index(k->str, k->len) ||
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
    size_t dels_queued = 0;
    RedisReply held; // owns the keys of the queued DELs until they are written
    std::vector<Bytes> batch;
    std::string cursor = "0";
    do {
        queue_scan(c, cursor, m, opts_.scan_count);
        for (; dels_queued; dels_queued--)
            removed += size_t(c.integer("DEL"));
        RedisReply r = read_scan(c, &cursor);
        const redisReply *found = r->element[1];
        batch.clear();
        for (size_t i = 0; i < found->elements; i++) {
            const redisReply *k = found->element[i];
            if (k->type != REDIS_REPLY_STRING || (skip_tags && is_tag_index(k->str, k->len)) ||
                !glob.match(Bytes(k->str, k->len)))
                continue;
            batch.emplace_back(k->str, k->len);
        }
        if (opts_.per_slot_commands) // a cluster node: one DEL per slot
            std::sort(batch.begin(), batch.end(),
                      [](Bytes a, Bytes b) { return redis_key_slot(a) < redis_key_slot(b); });
        for (size_t i = 0, n; i < batch.size(); i += n) {
            n = run_length(batch.data(), i, batch.size(), batch.size());
            c.command("DEL", batch.data() + i, n);
            dels_queued++;
        }
        held = std::move(r);
    } while (cursor != "0");
    for (; dels_queued; dels_queued--)
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

} // namespace unicache
