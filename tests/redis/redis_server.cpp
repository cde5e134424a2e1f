#include "redis_server.h"

#include <unistd.h>

namespace unicache_test {

std::string shared_redis_socket()
{
    return "/tmp/unicache-test-redis-" + std::to_string(getpid()) + ".sock";
}

ServerProcess &shared_redis()
{
    static ServerProcess server =
        ServerProcess::redis({"--unixsocket", shared_redis_socket(), "--unixsocketperm", "700"});
    server.start();
    return server;
}

} // namespace unicache_test
