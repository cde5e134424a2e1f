/*
 * dlopen: use unicache without linking to it, the way an FFI does (Python's
 * ctypes, Lua, Node's ffi). Only the header's types are used; every function
 * is looked up by name.
 *   cc dlopen.c -ldl && ./a.out /usr/local/lib/libunicache.so.0
 */
#include <dlfcn.h>
#include <stdio.h>

#include <unicache.h>

typedef int (*open_fn)(const char *, cache_t **);
typedef void (*close_fn)(cache_t *);
typedef int (*set_fn)(cache_t *, const void *, size_t, const void *, size_t, cache_int64);
typedef int (*get_fn)(cache_t *, const void *, size_t, cache_buf *);
typedef void (*free_fn)(cache_buf *);
typedef const char *(*version_fn)(void);

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "libunicache.so.0";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    open_fn p_open;
    close_fn p_close;
    set_fn p_set;
    get_fn p_get;
    free_fn p_free;
    version_fn p_version;
    cache_t *cache = NULL;
    cache_buf value = {NULL, 0};
    int rc;

    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* POSIX allows casting dlsym's void * to a function pointer this way. */
    *(void **)&p_open = dlsym(lib, "cache_open");
    *(void **)&p_close = dlsym(lib, "cache_close");
    *(void **)&p_set = dlsym(lib, "cache_set");
    *(void **)&p_get = dlsym(lib, "cache_get");
    *(void **)&p_free = dlsym(lib, "cache_buf_free");
    *(void **)&p_version = dlsym(lib, "cache_version");
    if (!p_open || !p_close || !p_set || !p_get || !p_free || !p_version) {
        fprintf(stderr, "dlsym: a cache_* symbol is missing\n");
        return 1;
    }

    printf("loaded %s, unicache %s\n", path, p_version());
    rc = p_open("memory://", &cache);
    if (rc != CACHE_OK)
        return 1;
    p_set(cache, "k", 1, "v\0w", 3, CACHE_TTL_NONE); /* binary value */
    rc = p_get(cache, "k", 1, &value);
    printf("get k -> rc=%d, %lu bytes\n", rc, (unsigned long)value.size);
    rc = (rc == CACHE_OK && value.size == 3) ? 0 : 1;
    p_free(&value);
    p_close(cache);
    dlclose(lib);
    return rc;
}
