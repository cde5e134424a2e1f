#include "policy.h"

#include "basic_policies.h"
#include "core/error.h"
#include "lfu_policy.h"
#include "tinylfu_policy.h"

namespace unicache {

const std::vector<std::string> &policy_names()
{
    static const std::vector<std::string> names = {"tinylfu", "lru", "lfu", "fifo"};
    return names;
}

std::unique_ptr<EvictionPolicy> make_policy(const std::string &name, size_t capacity_hint)
{
    if (name == "tinylfu")
        return std::make_unique<TinyLfuPolicy>(capacity_hint);
    if (name == "lru")
        return std::make_unique<LruPolicy>();
    if (name == "lfu")
        return std::make_unique<LfuPolicy>();
    if (name == "fifo")
        return std::make_unique<FifoPolicy>();
    fail(CACHE_EINVAL, "unknown eviction policy '" + name + "'");
}

} // namespace unicache
