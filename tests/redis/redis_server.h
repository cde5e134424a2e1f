// The redis-server instances the Redis tests share: started on first use on
// a free loopback port, stopped at exit.
#pragma once

#include <string>

#include "support/server_process.h"

namespace unicache_test {

// A plain server (no password) on TCP and on a Unix socket.
ServerProcess &shared_redis();
std::string shared_redis_socket();

inline std::string redis_uri(const std::string &query = "")
{
    return "redis://127.0.0.1:" + std::to_string(shared_redis().port()) +
           (query.empty() ? "" : "?" + query);
}

} // namespace unicache_test
