// The operations the core times, one name each in the statistics document
// ("latency": {"get": ...}) and in slow-operation log lines.
#pragma once

#include <cstddef>

namespace unicache {

enum class Op : unsigned char {
    get, // get and get_into
    set,
    add,
    del,
    exists,
    incr,  // incr, decr, incr_ext
    touch, // touch and expire_at
    ttl,
    get_many,
    set_many,
    del_many,
    keys,
    delete_pattern,
    clear,
    set_tagged,
    invalidate_tags,
    ping,
    lease_get,
    lease_set,
    fetch, // cache_fetch as a whole, its compute included
    count_
};

constexpr size_t kOpCount = size_t(Op::count_);

// One name per Op, in its order: the array's size is checked against
// kOpCount, so an Op added without a name does not compile (one did, and
// its statistics threw on a NULL name).
inline constexpr const char *kOpNames[] = {"get",
                                           "set",
                                           "add",
                                           "delete",
                                           "exists",
                                           "incr",
                                           "touch",
                                           "ttl",
                                           "get_many",
                                           "set_many",
                                           "delete_many",
                                           "keys",
                                           "delete_pattern",
                                           "clear",
                                           "set_tagged",
                                           "invalidate_tags",
                                           "ping",
                                           "lease_get",
                                           "lease_set",
                                           "fetch"};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == kOpCount, "every Op has a name");

inline const char *op_name(Op op)
{
    return kOpNames[size_t(op)];
}

} // namespace unicache
