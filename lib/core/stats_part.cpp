#include "stats_part.h"

#include <cjson/cJSON.h>
#include <new>

namespace unicache {

namespace {

cJSON *checked(cJSON *item)
{
    if (!item)
        throw std::bad_alloc();
    return item;
}

} // namespace

void StatsPart::count(const char *name, int64_t v)
{
    checked(v < 0 ? cJSON_AddNullToObject(obj_, name)
                  : cJSON_AddNumberToObject(obj_, name, double(v)));
}

void StatsPart::number(const char *name, double v)
{
    checked(cJSON_AddNumberToObject(obj_, name, v));
}

void StatsPart::text(const char *name, const std::string &v)
{
    checked(cJSON_AddStringToObject(obj_, name, v.c_str()));
}

StatsPart StatsPart::object(const char *name)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(obj_, name);
    return StatsPart(o ? o : checked(cJSON_AddObjectToObject(obj_, name)), detail_);
}

void StatsPart::numbers(const char *name, const double *v, size_t n)
{
    cJSON *a = checked(cJSON_CreateDoubleArray(v, int(n)));
    cJSON_AddItemToObject(obj_, name, a);
}

StatsPart StatsPart::append(const char *name)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(obj_, name);
    if (!a)
        a = checked(cJSON_AddArrayToObject(obj_, name));
    cJSON *o = checked(cJSON_CreateObject());
    cJSON_AddItemToArray(a, o);
    return StatsPart(o, detail_);
}

} // namespace unicache
