// Statistics: the library's JSON document as rows for a table.
#include <cJSON.h>

#include <cstdio>
#include <memory>

#include "cli.h"

namespace unicache_cli {

namespace {

struct JsonDeleter {
    void operator()(cJSON *j) const { cJSON_Delete(j); }
};

void flatten(const cJSON *node, const std::string &name,
             std::vector<std::pair<std::string, std::string>> *rows)
{
    if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        int i = 0;
        for (const cJSON *c = node->child; c; c = c->next, i++) {
            std::string child = cJSON_IsArray(node) ? name + "[" + std::to_string(i) + "]"
                                : name.empty()      ? std::string(c->string)
                                                    : name + "." + c->string;
            flatten(c, child, rows);
        }
    } else if (cJSON_IsNumber(node)) {
        rows->emplace_back(name, number_text(node->valuedouble));
    } else if (cJSON_IsString(node)) {
        rows->emplace_back(name, node->valuestring);
    } else if (cJSON_IsBool(node)) {
        rows->emplace_back(name, cJSON_IsTrue(node) ? "true" : "false");
    } else {
        rows->emplace_back(name, "-"); // null: the backend cannot tell
    }
}

} // namespace

std::string number_text(double v)
{
    char buf[64];
    if (v == double(int64_t(v)) && v < 9e15 && v > -9e15)
        std::snprintf(buf, sizeof buf, "%lld", (long long)v);
    else
        std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string buf_text(int status, cache_buf *buf, const std::string &what)
{
    check(status, what);
    std::string out(static_cast<const char *>(buf->data), buf->size);
    cache_buf_free(buf);
    return out;
}

std::vector<std::pair<std::string, std::string>> flatten_json(const std::string &json)
{
    std::unique_ptr<cJSON, JsonDeleter> root(cJSON_Parse(json.c_str()));
    if (!root)
        failed(CACHE_EINTERNAL, "the statistics are not JSON");
    std::vector<std::pair<std::string, std::string>> rows;
    flatten(root.get(), "", &rows);
    return rows;
}

std::string stats_json(cache_t *cache)
{
    cache_buf buf = {nullptr, 0};
    return buf_text(cache_stats_json(cache, &buf), &buf, "stats");
}

} // namespace unicache_cli
