// One factory per backend; each lives in its own folder.
#pragma once

#include "core/backend.h"

namespace unicache {

std::unique_ptr<Backend> make_memory_backend(Config &config);
std::unique_ptr<Backend> make_sqlite_backend(Config &config);
std::unique_ptr<Backend> make_redis_backend(Config &config);
std::unique_ptr<Backend> make_redis_sentinel_backend(Config &config);
std::unique_ptr<Backend> make_redis_cluster_backend(Config &config);
std::unique_ptr<Backend> make_memcached_backend(Config &config);

} // namespace unicache
