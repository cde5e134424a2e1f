// libFuzzer target: any text given to cache_open (URI or JSON) returns a
// status and a message, never crashes, leaks or hangs. A successful open is
// exercised with one set/get and closed.
#include <cstdint>
#include <cstring>
#include <string>

#include "unicache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string text(reinterpret_cast<const char *>(data), size);
    // Only the embedded backend: a fuzzer must not create files or dial out.
    if (text.rfind("memory://", 0) != 0 && (text.empty() || text[0] != '{'))
        text = "memory://" + text;
    if (text[0] == '{' && text.find("\"backend\"") == std::string::npos)
        return 0;
    if (text[0] == '{' && text.find("\"memory\"") == std::string::npos)
        return 0;
    cache_t *c = nullptr;
    int rc = cache_open(text.c_str(), &c);
    if (rc == CACHE_OK) {
        cache_buf b = {nullptr, 0};
        cache_set(c, "k", 1, "v", 1, CACHE_TTL_DEFAULT);
        cache_get(c, "k", 1, &b);
        cache_buf_free(&b);
        cache_close(c);
    } else if (c != nullptr || cache_last_error()[0] == '\0') {
        __builtin_trap(); // failure must leave *out NULL and say why
    }
    return 0;
}
