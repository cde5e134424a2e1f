// For a test binary that runs one scenario on every backend that is built:
// the list of those backends, and one redis-server and one memcached on free
// 127.0.0.1 ports for the whole binary, started before the first test and
// stopped after the last (a gtest environment, registered by including this
// header in one file of the binary). The binary's target gets
// UNICACHE_TEST_<BACKEND> for each backend built from
// unicache_test_every_backend() in tests/CMakeLists.txt.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/server_process.h"

namespace unicache_test {

class BackendServers : public ::testing::Environment {
public:
    void SetUp() override
    {
#ifdef UNICACHE_TEST_REDIS
        redis_ = new ServerProcess(ServerProcess::redis());
        redis_->start();
#endif
#ifdef UNICACHE_TEST_MEMCACHED
        memcached_ = new ServerProcess(ServerProcess::memcached());
        memcached_->start();
#endif
    }
    void TearDown() override
    {
        delete redis_;
        delete memcached_;
        redis_ = memcached_ = nullptr;
    }

    // The servers; valid between SetUp and TearDown, when built.
    static ServerProcess &redis()
    {
        return *redis_;
    }
    static ServerProcess &memcached()
    {
        return *memcached_;
    }

private:
    static inline ServerProcess *redis_ = nullptr;
    static inline ServerProcess *memcached_ = nullptr;
};

inline const ::testing::Environment *const every_backend_servers =
    ::testing::AddGlobalTestEnvironment(new BackendServers);

// "memory" and each other backend built, in a fixed order.
inline std::vector<std::string> built_backends()
{
    std::vector<std::string> b = {"memory"};
#ifdef UNICACHE_TEST_SQLITE
    b.push_back("sqlite");
#endif
#ifdef UNICACHE_TEST_REDIS
    b.push_back("redis");
#endif
#ifdef UNICACHE_TEST_MEMCACHED
    b.push_back("memcached");
#endif
    return b;
}

} // namespace unicache_test
