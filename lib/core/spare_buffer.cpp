#include "core/spare_buffer.h"

#include <malloc.h>
#include <pthread.h>

#include <cstdlib>
#include <mutex>

namespace unicache {
namespace spare_detail {

__thread Spare t_spare __attribute__((tls_model("initial-exec"))) = {nullptr, 0, 0};

namespace {

pthread_key_t g_key;

// Thread exit: free the spare; later frees on this thread free at once.
void drop_spare(void *)
{
    std::free(t_spare.block);
    t_spare.block = nullptr;
    t_spare.state = 2;
}

} // namespace

void keep_slow(void *p, size_t size) noexcept
{
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] { ok = pthread_key_create(&g_key, drop_spare) == 0; });
    if (!ok || pthread_setspecific(g_key, &t_spare) != 0) {
        t_spare.state = 2;
        std::free(p);
        return;
    }
    t_spare.state = 1;
    release_buffer(p, size);
}

} // namespace spare_detail

void release_buffer(void *p, size_t size) noexcept
{
    using namespace spare_detail;
    Spare &s = t_spare;
    if (p && !s.block) {
        if (__builtin_expect(s.state == 0, 0))
            return keep_slow(p, size);
        if (s.state == 1) {
            size_t usable = malloc_usable_size(p);
            if (usable <= kSpareMax) {
                s.block = p;
                s.size = usable < size ? usable : size;
                return;
            }
        }
    }
    std::free(p);
}

} // namespace unicache
