#include "generation_table.h"

#include <map>
#include <mutex>

namespace unicache {

std::shared_ptr<GenerationTable> GenerationTable::find(const std::string &servers, Kind kind,
                                                       const std::string &name, size_t nservers)
{
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<GenerationTable>> tables;
    std::string id = servers;
    id.push_back('\0');
    id.push_back(char(kind));
    id += name;
    std::lock_guard<std::mutex> lock(mu);
    // Drop entries whose handles are all closed, so the map stays small.
    for (auto it = tables.begin(); it != tables.end();)
        it = it->second.expired() ? tables.erase(it) : std::next(it);
    auto &weak = tables[id];
    std::shared_ptr<GenerationTable> table = weak.lock();
    if (!table) {
        table = std::make_shared<GenerationTable>(nservers, kind, name);
        weak = table;
    }
    return table;
}

} // namespace unicache
