// The reference model behind the differential fuzzer (issue 10, the
// harness): random sequences of C API operations through three handles with
// nested prefixes ("", "a", "ab") on one shared store, checked against a
// small model of the documented contract (the README, not the backend).
// fuzz/model_fuzz.cpp drives it with libFuzzer on memory:// and sqlite://;
// tests/fuzz/model_servers_test.cpp with seeded inputs on a real
// redis-server and memcached, and replays the inputs kept in fuzz/seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "unicache.h"

namespace unicache_model {

// What the contract lets a backend differ in (README: memcached cannot list
// keys, counts no invalidations and keeps time in seconds).
struct ModelTarget {
    std::string uri;
    bool lists_keys = true;           // false: keys is CACHE_ENOTSUP
    bool counts_invalidations = true; // false: invalidate_tags reports 0
    int64_t ttl_slack_ms = 0;         // how far over the TTL given ttl() may say
    // Redis (README, its Tags paragraph): an entry stays under a tag while
    // it holds the bytes it was tagged with, whatever wrote them since (an
    // incr detaches it, a rewrite of the same bytes does not); elsewhere it
    // leaves its tags at any write but incr, touch and expire_at.
    bool tags_by_value = false;
};

// A status, value, count or listing that differs from the model; what()
// names the operation, the full key and both answers.
struct ModelMismatch : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The three handles, open for many inputs; each run starts from an empty
// store (a clear through the handle without a prefix).
class ModelRunner {
public:
    // Throws std::runtime_error when a handle does not open.
    explicit ModelRunner(ModelTarget target);
    ~ModelRunner();
    ModelRunner(const ModelRunner &) = delete;
    ModelRunner &operator=(const ModelRunner &) = delete;

    // Runs one input (at most 256 operations). Throws ModelMismatch.
    // Returns the number of operations run.
    size_t run(const uint8_t *data, size_t size);

private:
    ModelTarget target_;
    cache_t *h_[3] = {};
};

} // namespace unicache_model
