#include "model_run.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace unicache_model {

namespace {

constexpr int64_t kHour = 3600 * 1000;
const char *const kPrefixes[] = {"", "a", "ab"};
// The stored form of each handle's keys: prefix + '|' (prefix_mode=namespace).
const char *const kHeads[] = {"", "a|", "ab|"};
constexpr int kHandles = 3;

struct Entry {
    std::string value;
    bool ttl = false;
    std::set<std::string> tags; // full tag names
};

struct Model {
    std::map<std::string, Entry> store;
    // tags_by_value (Redis): tag name -> full key -> the value it was tagged
    // with; an invalidation removes the keys still holding that value.
    std::map<std::string, std::map<std::string, std::string>> fingerprints;

    // A tag is scoped by its handle's key head: "<length>:<head><tag>".
    static std::string tag_name(const std::string &head, const std::string &tag)
    {
        return std::to_string(head.size()) + ":" + head + tag;
    }
};

class Input {
public:
    Input(const uint8_t *d, size_t n) : d_(d), n_(n) {}
    bool empty() const { return at_ >= n_; }
    uint8_t byte() { return at_ < n_ ? d_[at_++] : 0; }
    std::string key()
    {
        // '|' too: the root's key "a|b" is key "b" of prefix "a".
        static const char alphabet[] = "ab|";
        size_t len = 1 + byte() % 3;
        std::string k;
        for (size_t i = 0; i < len; i++)
            k.push_back(alphabet[byte() % 3]);
        return k;
    }
    std::string value()
    {
        switch (byte() % 6) {
        case 0:
            return "";
        case 1:
            return std::to_string(int(byte()) - 128);
        case 2:
            return "00" + std::to_string(byte());
        case 3:
            return "9223372036854775807";
        case 4:
            return "-9223372036854775808";
        default: {
            std::string v;
            size_t len = byte() % 5;
            for (size_t i = 0; i < len; i++)
                v.push_back(char(byte()));
            return v;
        }
        }
    }
    int64_t delta()
    {
        switch (byte() % 4) {
        case 0:
            return INT64_MAX;
        case 1:
            return INT64_MIN;
        default:
            return int64_t(int8_t(byte()));
        }
    }
    std::string tag() { return std::string(1, "xy"[byte() % 2]); }

private:
    const uint8_t *d_;
    size_t n_;
    size_t at_ = 0;
};

// The operations of the current run so far, for the mismatch message.
thread_local std::string t_trace;

const char *const kOpNames[] = {
    "set",      "add",      "get",         "delete",     "exists",
    "incr",     "ttl",      "touch",       "expire_at",  "clear",
    "get_many", "set_many", "delete_many", "set_tagged", "invalidate_tags",
    "keys"};

[[noreturn]] void mismatch(const char *op, const std::string &key, int got, int want,
                           const std::string &detail = "")
{
    char text[512];
    std::snprintf(text, sizeof text, "model mismatch: %s('%s'): got %d, model %d %s (%s)", op,
                  key.c_str(), got, want, detail.c_str(), cache_last_error());
    throw ModelMismatch(std::string(text) + "\n  operations (handle: op key):\n" + t_trace);
}

// The model's counter parse: -?[0-9]+, leading zeros of any length, int64.
int parse_counter(const std::string &v, int64_t *out)
{
    size_t i = 0;
    bool neg = !v.empty() && v[0] == '-';
    if (neg)
        i = 1;
    if (i == v.size())
        return CACHE_ENAN;
    const uint64_t limit = uint64_t(1) << 63; // the magnitude of INT64_MIN
    uint64_t n = 0;
    for (; i < v.size(); i++) {
        if (v[i] < '0' || v[i] > '9')
            return CACHE_ENAN;
        uint64_t digit = uint64_t(v[i] - '0');
        if (n > (limit - digit) / 10)
            return CACHE_ENAN;
        n = n * 10 + digit;
    }
    if (!neg && n == limit)
        return CACHE_ENAN;
    *out = neg ? int64_t(0 - n) : int64_t(n);
    return CACHE_OK;
}

struct Run {
    cache_t *const *h;
    const ModelTarget &target;
    Model m;

    std::string full(int hi, const std::string &k) const { return kHeads[hi] + k; }

    void check_get(int hi, const std::string &k)
    {
        cache_buf b = {nullptr, 0};
        int rc = cache_get(h[hi], k.data(), k.size(), &b);
        auto it = m.store.find(full(hi, k));
        int want = it == m.store.end() ? CACHE_MISS : CACHE_OK;
        if (rc != want)
            mismatch("get", full(hi, k), rc, want);
        if (rc == CACHE_OK &&
            std::string(static_cast<const char *>(b.data), b.size) != it->second.value)
            mismatch("get value", full(hi, k), rc, want);
        cache_buf_free(&b);
    }

    void step(Input &in)
    {
        int hi = in.byte() % kHandles;
        cache_t *c = h[hi];
        const std::string prefix = kPrefixes[hi];
        const std::string head = kHeads[hi];
        uint8_t op = in.byte() % 16;
        std::string k = in.key();
        std::string fk = full(hi, k);
        t_trace += "    " + std::string(kPrefixes[hi]).append(hi ? "" : "\"\"") + ": " +
                   kOpNames[op] + " " + k + "\n";
        auto it = m.store.find(fk);
        bool present = it != m.store.end();
        int rc;
        switch (op) {
        case 0: { // set
            std::string v = in.value();
            bool ttl = in.byte() & 1;
            rc = cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl ? kHour : 0);
            if (rc != CACHE_OK)
                mismatch("set", fk, rc, CACHE_OK);
            m.store[fk] = Entry{v, ttl, {}};
            break;
        }
        case 1: { // add
            std::string v = in.value();
            rc = cache_add(c, k.data(), k.size(), v.data(), v.size(), 0);
            int want = present ? CACHE_MISS : CACHE_OK;
            if (rc != want)
                mismatch("add", fk, rc, want);
            if (!present)
                m.store[fk] = Entry{v, false, {}};
            break;
        }
        case 2:
            check_get(hi, k);
            break;
        case 3: // delete
            rc = cache_delete(c, k.data(), k.size());
            if (rc != (present ? CACHE_OK : CACHE_MISS))
                mismatch("delete", fk, rc, present ? CACHE_OK : CACHE_MISS);
            m.store.erase(fk);
            break;
        case 4: // exists
            rc = cache_exists(c, k.data(), k.size());
            if (rc != (present ? CACHE_OK : CACHE_MISS))
                mismatch("exists", fk, rc, present ? CACHE_OK : CACHE_MISS);
            break;
        case 5: { // incr
            int64_t d = in.delta();
            cache_int64 got = 0;
            rc = cache_incr(c, k.data(), k.size(), d, &got);
            int64_t cur = 0;
            int want = present ? parse_counter(it->second.value, &cur) : CACHE_OK;
            int64_t next = 0;
            if (want == CACHE_OK && __builtin_add_overflow(cur, d, &next))
                want = CACHE_ERANGE;
            if (rc != want)
                mismatch("incr", fk, rc, want, it == m.store.end() ? "" : it->second.value);
            if (rc == CACHE_OK) {
                if (got != next)
                    mismatch("incr result", fk, int(got), int(next));
                if (present)
                    it->second.value = std::to_string(next); // keeps TTL and tags
                else
                    m.store[fk] = Entry{std::to_string(next), false, {}};
            }
            break;
        }
        case 6: { // ttl
            cache_int64 ms = 0;
            rc = cache_ttl(c, k.data(), k.size(), &ms);
            if (rc != (present ? CACHE_OK : CACHE_MISS))
                mismatch("ttl", fk, rc, present ? CACHE_OK : CACHE_MISS);
            if (rc == CACHE_OK &&
                (it->second.ttl ? (ms <= 0 || ms > kHour + target.ttl_slack_ms) : ms != -1))
                mismatch("ttl value", fk, int(ms), it->second.ttl ? 1 : -1);
            break;
        }
        case 7: { // touch
            bool ttl = in.byte() & 1;
            rc = cache_touch(c, k.data(), k.size(), ttl ? kHour : 0);
            if (rc != (present ? CACHE_OK : CACHE_MISS))
                mismatch("touch", fk, rc, present ? CACHE_OK : CACHE_MISS);
            if (present)
                it->second.ttl = ttl;
            break;
        }
        case 8: { // expire_at in the past (INT64_MIN included) removes
            int64_t at = in.byte() & 1 ? INT64_MIN : 1;
            rc = cache_expire_at(c, k.data(), k.size(), at);
            if (rc != (present ? CACHE_OK : CACHE_MISS))
                mismatch("expire_at", fk, rc, present ? CACHE_OK : CACHE_MISS);
            m.store.erase(fk);
            break;
        }
        case 9: { // clear: every full key starting with the head (all: the root)
            rc = cache_clear(c);
            if (rc != CACHE_OK)
                mismatch("clear", prefix, rc, CACHE_OK);
            for (auto e = m.store.begin(); e != m.store.end();)
                e = e->first.compare(0, head.size(), head) == 0 ? m.store.erase(e) : std::next(e);
            // Redis: the head's tag indexes are keys under it too.
            std::string scope = Model::tag_name(head, "");
            for (auto f = m.fingerprints.begin(); f != m.fingerprints.end();)
                f = head.empty() || f->first.compare(0, scope.size(), scope) == 0
                        ? m.fingerprints.erase(f)
                        : std::next(f);
            break;
        }
        case 10: { // get_many
            std::string k2 = in.key();
            cache_slice keys[2] = {{k.data(), k.size()}, {k2.data(), k2.size()}};
            cache_buf values[2] = {{nullptr, 0}, {nullptr, 0}};
            int st[2] = {0, 0};
            rc = cache_get_many(c, keys, 2, values, st);
            if (rc != CACHE_OK)
                mismatch("get_many", fk, rc, CACHE_OK);
            for (int i = 0; i < 2; i++) {
                auto e = m.store.find(full(hi, i ? k2 : k));
                int want = e == m.store.end() ? CACHE_MISS : CACHE_OK;
                if (st[i] != want ||
                    (want == CACHE_OK && std::string(static_cast<const char *>(values[i].data),
                                                     values[i].size) != e->second.value))
                    mismatch("get_many item", full(hi, i ? k2 : k), st[i], want);
                cache_buf_free(&values[i]);
            }
            break;
        }
        case 11: { // set_many
            std::string k2 = in.key(), v = in.value(), v2 = in.value();
            cache_slice keys[2] = {{k.data(), k.size()}, {k2.data(), k2.size()}};
            cache_slice vals[2] = {{v.data(), v.size()}, {v2.data(), v2.size()}};
            rc = cache_set_many(c, keys, vals, 2, 0);
            if (rc != CACHE_OK)
                mismatch("set_many", fk, rc, CACHE_OK);
            m.store[fk] = Entry{v, false, {}};
            m.store[full(hi, k2)] = Entry{v2, false, {}};
            break;
        }
        case 12: { // delete_many
            std::string k2 = in.key();
            cache_slice keys[2] = {{k.data(), k.size()}, {k2.data(), k2.size()}};
            size_t n = 99;
            rc = cache_delete_many(c, keys, 2, &n);
            size_t want = m.store.erase(fk);
            if (k2 != k)
                want += m.store.erase(full(hi, k2));
            if (rc != CACHE_OK || n != want)
                mismatch("delete_many", fk, rc, int(want), "count " + std::to_string(n));
            break;
        }
        case 13: { // set_tagged
            std::string v = in.value(), t = in.tag();
            cache_slice tags[1] = {{t.data(), t.size()}};
            rc = cache_set_tagged(c, k.data(), k.size(), v.data(), v.size(), 0, tags, 1);
            if (rc != CACHE_OK)
                mismatch("set_tagged", fk, rc, CACHE_OK);
            m.store[fk] = Entry{v, false, {Model::tag_name(head, t)}};
            m.fingerprints[Model::tag_name(head, t)][fk] = v;
            break;
        }
        case 14: { // invalidate_tags
            std::string t = in.tag();
            cache_slice tags[1] = {{t.data(), t.size()}};
            size_t n = 99;
            rc = cache_invalidate_tags(c, tags, 1, &n);
            std::string name = Model::tag_name(head, t);
            size_t want = 0;
            if (target.tags_by_value) {
                for (auto &f : m.fingerprints[name]) {
                    auto e = m.store.find(f.first);
                    if (e != m.store.end() && e->second.value == f.second) {
                        m.store.erase(e);
                        want++;
                    }
                }
                m.fingerprints.erase(name);
            } else {
                for (auto e = m.store.begin(); e != m.store.end();) {
                    if (e->second.tags.count(name)) {
                        e = m.store.erase(e);
                        want++;
                    } else {
                        ++e;
                    }
                }
            }
            if (!target.counts_invalidations)
                want = 0; // memcached: entries are checked lazily, on read
            if (rc != CACHE_OK || n != want)
                mismatch("invalidate_tags", name, rc, int(want), "count " + std::to_string(n));
            break;
        }
        default: { // keys "*": this handle's keys, without the prefix
            cache_buf_array arr = {nullptr, 0};
            rc = cache_keys(c, "*", 1, 0, &arr);
            if (!target.lists_keys) {
                if (rc != CACHE_ENOTSUP || arr.count != 0)
                    mismatch("keys", prefix, rc, CACHE_ENOTSUP);
                break;
            }
            if (rc != CACHE_OK)
                mismatch("keys", prefix, rc, CACHE_OK);
            std::set<std::string> got, want;
            for (size_t i = 0; i < arr.count; i++)
                got.insert(
                    std::string(static_cast<const char *>(arr.items[i].data), arr.items[i].size));
            cache_buf_array_free(&arr);
            for (auto &e : m.store)
                // Every full key starting with the head. The root's key
                // "a|" is listed by prefix "a" as the empty key, which that
                // handle cannot address: the rule, not a collision.
                if (e.first.compare(0, head.size(), head) == 0)
                    want.insert(e.first.substr(head.size()));
            if (got != want)
                mismatch("keys", prefix, int(got.size()), int(want.size()));
            break;
        }
        }
    }
};

} // namespace

ModelRunner::ModelRunner(ModelTarget target) : target_(std::move(target))
{
    for (int i = 0; i < kHandles; i++) {
        cache_options o = CACHE_OPTIONS_INIT;
        o.prefix = kPrefixes[i];
        o.prefix_len = std::strlen(kPrefixes[i]);
        if (cache_open_ext(target_.uri.c_str(), &o, &h_[i]) != CACHE_OK) {
            std::string e = std::string("open ") + target_.uri + ": " + cache_last_error();
            for (int j = 0; j < i; j++)
                cache_close(h_[j]);
            throw std::runtime_error(e);
        }
    }
}

ModelRunner::~ModelRunner()
{
    for (cache_t *c : h_)
        cache_close(c);
}

size_t ModelRunner::run(const uint8_t *data, size_t size)
{
    if (cache_clear(h_[0]) != CACHE_OK)
        throw std::runtime_error(std::string("clear: ") + cache_last_error());
    t_trace.clear();
    Run run{h_, target_, {}};
    Input in(data, size);
    size_t n = 0;
    for (; !in.empty() && n < 256; n++)
        run.step(in);
    // Everything the model holds is there, with its value, for the root.
    for (auto &e : run.m.store) {
        cache_buf b = {nullptr, 0};
        int rc = cache_get(h_[0], e.first.data(), e.first.size(), &b);
        bool same = rc == CACHE_OK &&
                    std::string(static_cast<const char *>(b.data), b.size) == e.second.value;
        cache_buf_free(&b);
        if (!same)
            mismatch("final get", e.first, rc, CACHE_OK);
    }
    return n;
}

} // namespace unicache_model
