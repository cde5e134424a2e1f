/*
 * quickstart: open a cache, store and read a value, count, expire, and print
 * the statistics. Build against an installed unicache with
 *   cc quickstart.c $(pkg-config --cflags --libs unicache)
 * and run it with an optional URI: ./quickstart "memory://?max_items=1000"
 */
#include <stdio.h>
#include <string.h>

#include <unicache.h>

/* Print the status and the library's message, then stop. */
static int die(const char *what, int status)
{
    fprintf(stderr, "%s failed: %s (%d)\n", what, cache_last_error(), status);
    return 1;
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : NULL; /* NULL: $UNICACHE_URL or memory:// */
    cache_t *cache = NULL;
    cache_buf value = {NULL, 0};
    cache_buf stats = {NULL, 0};
    cache_int64 visits = 0;
    cache_int64 ttl = 0;
    int rc;

    rc = cache_open(uri, &cache);
    if (rc != CACHE_OK)
        return die("cache_open", rc);
    printf("unicache %s, opened %s\n", cache_version(), uri ? uri : "the default cache");

    /* Keys and values are (pointer, length): any bytes work. */
    rc = cache_set(cache, "greeting", 8, "hello, world", 12, CACHE_TTL_NONE);
    if (rc != CACHE_OK)
        return die("cache_set", rc);
    printf("set   greeting = \"hello, world\"\n");

    /* A hit hands back a copy the caller owns and frees. */
    rc = cache_get(cache, "greeting", 8, &value);
    if (rc == CACHE_OK)
        printf("get   greeting -> \"%.*s\" (%lu bytes)\n", (int)value.size, (char *)value.data,
               (unsigned long)value.size);
    cache_buf_free(&value);

    /* A miss is CACHE_MISS, not an error. */
    rc = cache_get(cache, "nobody", 6, &value);
    printf("get   nobody   -> %s\n", rc == CACHE_MISS ? "miss" : cache_strerror(rc));

    /* Counters are signed 64-bit and start from 0. */
    cache_incr(cache, "visits", 6, 5, &visits);
    cache_decr(cache, "visits", 6, 7, &visits);
    printf("incr  visits +5 -7 -> %lld\n", (long long)visits);

    /* TTLs are milliseconds. */
    cache_set(cache, "session", 7, "abc", 3, 60 * 1000);
    if (cache_ttl(cache, "session", 7, &ttl) == CACHE_OK)
        printf("ttl   session  -> %lld ms left\n", (long long)ttl);

    /* Bad input is a status and a message, never a crash. */
    rc = cache_set(cache, "", 0, "x", 1, CACHE_TTL_NONE);
    printf("set   \"\"       -> %d: %s\n", rc, cache_last_error());

    rc = cache_stats_json(cache, &stats);
    if (rc != CACHE_OK)
        return die("cache_stats_json", rc);
    printf("stats %s\n", (char *)stats.data);
    cache_buf_free(&stats);

    cache_close(cache);
    return 0;
}
