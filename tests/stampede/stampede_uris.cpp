#include "stampede/stampede_uris.h"

#include <cstdlib>
#include <unistd.h>

#include "sqlite/sqlite_temp_dir.h"

namespace unicache_test {

std::vector<StampedeBackend> stampede_backends()
{
    std::vector<StampedeBackend> out;
    // Named: every handle of the test shares one store, as processes share a server.
    out.push_back({"memory", "memory://?name=stampede_test", false});
    static SqliteTempDir dir("stampede");
    out.push_back({"sqlite", "sqlite://" + dir.file("leases.db"), false});
    return out;
}

} // namespace unicache_test
