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

inline const char *op_name(Op op)
{
    static const char *const names[kOpCount] = {"get",
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
                                                "ping"};
    return names[size_t(op)];
}

} // namespace unicache
