/* Compiled with -std=c89 -pedantic -Werror: the header must stay C89 clean.
 * Also exercises the API from plain C. */
#include <stdio.h>
#include <string.h>

#include "unicache.h"

static int compute_abc(void *ctx, const void *key, size_t key_len, cache_buf *value,
                       cache_int64 *ttl_ms)
{
    int rc = cache_buf_alloc(value, 3);
    (void)key;
    (void)key_len;
    (void)ttl_ms;
    *(int *)ctx += 1;
    if (rc == CACHE_OK)
        memcpy(value->data, "abc", 3);
    return rc;
}

static void count_line(void *ctx, int level, const char *message)
{
    (void)level;
    (void)message;
    *(int *)ctx += 1;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, cache_last_error());    \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(void)
{
    cache_t *c = NULL;
    cache_buf b;
    cache_options opts = CACHE_OPTIONS_INIT;
    cache_int64 n = 0;
    char into[4];
    size_t size = 0;
    int computes = 0;
    int lines = 0;
    cache_lease lease = CACHE_LEASE_INIT;
    cache_fetch_options fo = CACHE_FETCH_OPTIONS_INIT;
    b.data = NULL;
    b.size = 0;

    opts.prefix = "c89:";
    opts.prefix_len = 4;
    CHECK(cache_open_ext("memory://", &opts, &c) == CACHE_OK);
    CHECK(cache_set(c, "k", 1, "v\0w", 3, CACHE_TTL_NONE) == CACHE_OK);
    CHECK(cache_get(c, "k", 1, &b) == CACHE_OK);
    CHECK(b.size == 3 && memcmp(b.data, "v\0w", 3) == 0);
    cache_buf_free(&b);
    CHECK(b.data == NULL);
    CHECK(cache_get_into(c, "k", 1, into, sizeof into, &size) == CACHE_OK);
    CHECK(size == 3 && memcmp(into, "v\0w", 3) == 0);
    CHECK(cache_get_into(c, "k", 1, into, 2, &size) == CACHE_ETOOBIG && size == 3);
    CHECK(cache_get_into(c, "zz", 2, into, sizeof into, &size) == CACHE_MISS && size == 0);
    CHECK(cache_incr(c, "n", 1, -2, &n) == CACHE_OK && n == -2);
    CHECK(cache_incr_ext(c, "n", 1, 5, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &n) == CACHE_OK &&
          n == 3);
    CHECK(cache_incr_ext(c, "m", 1, 5, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &n) == CACHE_MISS);
    CHECK(cache_get(c, "zz", 2, &b) == CACHE_MISS);
    /* Stampede protection: a fetch computes once, then hits. */
    CHECK(cache_fetch(c, "f", 1, compute_abc, &computes, 60000, &b) == CACHE_OK);
    CHECK(b.size == 3 && memcmp(b.data, "abc", 3) == 0 && computes == 1);
    cache_buf_free(&b);
    CHECK(cache_fetch(c, "f", 1, compute_abc, &computes, 60000, &b) == CACHE_OK && computes == 1);
    cache_buf_free(&b);
    CHECK(cache_fetch(c, "f", 1, NULL, NULL, 60000, &b) == CACHE_EINVAL);
    /* The same without a callback: a miss grants this caller the lease. */
    CHECK(cache_lease_get(c, "l", 1, 0, &b, &lease) == CACHE_MISS && cache_lease_held(&lease));
    CHECK(cache_lease_set(c, "l", 1, &lease, "x", 1, CACHE_TTL_DEFAULT) == CACHE_OK);
    CHECK(!cache_lease_held(&lease));
    CHECK(cache_lease_get(c, "l", 1, 0, &b, &lease) == CACHE_OK && b.size == 1);
    cache_buf_free(&b);
    CHECK(cache_lease_get(c, "m", 1, 0, &b, &lease) == CACHE_MISS && cache_lease_held(&lease));
    CHECK(cache_lease_release(c, "m", 1, &lease) == CACHE_OK && !cache_lease_held(&lease));
    cache_lease_init(&lease);
    /* Per-call settings. */
    fo.stale_ttl_ms = 1000;
    CHECK(cache_fetch_ext(c, "g", 1, compute_abc, &computes, 60000, &fo, &b) == CACHE_OK);
    cache_buf_free(&b);
    CHECK(cache_lease_get_ext(c, "o", 1, 0, &fo, &b, &lease) == CACHE_MISS);
    CHECK(cache_lease_set_ext(c, "o", 1, &lease, "y", 1, 60000, &fo) == CACHE_OK);
    CHECK(cache_fetch_options_init(&fo, CACHE_FETCH_OPTIONS_VERSION) == CACHE_OK);
    CHECK(fo.stale_ttl_ms == CACHE_FETCH_KEEP && fo.early_refresh < 0);
    fo.early_refresh = 101;
    CHECK(cache_fetch_ext(c, "g", 1, compute_abc, &computes, 60000, &fo, &b) == CACHE_EINVAL);
    CHECK(cache_buf_alloc(&b, (size_t)-1) == CACHE_ETOOBIG && b.data == NULL);
    /* Logs and metrics. */
    CHECK(cache_set_log_handler(count_line, &lines, CACHE_LOG_DEBUG) == CACHE_OK);
    CHECK(cache_set_log_handler(count_line, &lines, 5) == CACHE_EINVAL);
    CHECK(cache_set_log_handler(NULL, NULL, 0) == CACHE_OK);
    CHECK(cache_stats_prometheus(c, &b) == CACHE_OK && b.size > 0);
    CHECK(strstr((const char *)b.data, "# TYPE") != NULL);
    cache_buf_free(&b);
    CHECK(strcmp(cache_backend_name(c), "memory") == 0);
    CHECK(strcmp(cache_backend_name(NULL), "") == 0);
    CHECK(strlen(cache_last_error()) > 0);
    CHECK(cache_set(c, "", 0, "v", 1, 0) == CACHE_EINVAL);
    CHECK(strlen(cache_last_error()) > 0);
    CHECK(CACHE_VERSION_NUMBER ==
          CACHE_VERSION_MAJOR * 10000 + CACHE_VERSION_MINOR * 100 + CACHE_VERSION_PATCH);
    cache_close(c);
    printf("c89 ok\n");
    return 0;
}
