// The contract suite on the SQLite backend: a real file in WAL mode (plain,
// and with eviction limits so the bounded code paths run too), a JSON
// configuration, and a private in-memory database.
#include "contract/contract_suite.h"
#include "sqlite_temp_dir.h"

namespace unicache_test {

namespace {

std::string file_uri(const std::string &file, const std::string &query = "")
{
    static SqliteTempDir dir("contract");
    return "sqlite://" + dir.path() + "/" + file + query;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(
    Sqlite, Contract,
    ::testing::Values(
        ContractTarget{"file", [] { return file_uri("contract.db"); }},
        ContractTarget{"bounded",
                       [] { return file_uri("bounded.db", "?max_items=100000&max_size_mb=256"); }},
        ContractTarget{"json",
                       [] {
                           std::string path = file_uri("json.db").substr(9);
                           return R"({"backend":"sqlite","path":")" + path +
                                  R"(","table":"other","synchronous":"full"})";
                       }},
        [] {
            ContractTarget t{"memory", [] { return std::string("sqlite://:memory:"); }};
            t.handles_share_store = false; // every open is a database of its own
            return t;
        }()),
    contract_name);

} // namespace unicache_test
