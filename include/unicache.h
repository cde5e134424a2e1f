/*
 * unicache: one cache API for C and anything that can load a C library.
 *
 * Conventions used by every function in this header:
 *
 *  - Keys and values are binary-safe byte strings passed as (pointer, length).
 *    NUL bytes, spaces and "\r\n" are ordinary bytes. The library never keeps
 *    a pointer to caller memory after a call returns.
 *  - A key must be 1 to CACHE_KEY_MAX bytes long. An empty value is a value.
 *  - Every function that can fail returns an int status: CACHE_OK (0),
 *    CACHE_MISS (1, "absent or expired", not an error) or a negative
 *    CACHE_E* error code. After an error, cache_last_error() describes it.
 *  - Memory the library allocates for the caller is returned in a cache_buf
 *    (or cache_buf_array) and must be released with cache_buf_free()
 *    (cache_buf_array_free()). On any status other than CACHE_OK, output
 *    buffers are set to {NULL, 0} and need no freeing (freeing is harmless).
 *  - TTLs are milliseconds. CACHE_TTL_DEFAULT means "the cache's default TTL"
 *    (set with the default_ttl URI parameter), CACHE_TTL_NONE means "never
 *    expires". Any other negative TTL is CACHE_EINVAL, and so is one over
 *    2305843009213693951 ms (INT64_MAX / 4, about 73 million years): per
 *    call, as the default_ttl URI parameter and as
 *    cache_options.default_ttl_ms alike. The memory backend
 *    counts TTLs on the monotonic clock; backends whose entries outlive the
 *    process (SQLite, Redis, memcached) count them on the wall clock, so a
 *    step of the system clock changes their remaining TTLs.
 *  - A value length is checked against the backend's limit before the
 *    value is read: a length beyond it is CACHE_ETOOBIG, whatever the
 *    buffer holds.
 *  - The prefix is prepended to every key with nothing in between, so the
 *    key "bc" under prefix "a" and the key "c" under prefix "ab" are one
 *    full key, "abc". End prefixes with a separator (":") to keep them
 *    apart. Tags are never shared that way: a tag belongs to its prefix.
 *  - A cache_t may be used from many threads at once without locking;
 *    cache_close waits for the calls other threads are inside.
 *
 * This header is C89 and C++ clean.
 */
#ifndef UNICACHE_H
#define UNICACHE_H

#include <stddef.h>

#if defined(_MSC_VER) && _MSC_VER < 1600
typedef __int64 cache_int64;
#else
#include <stdint.h>
typedef int64_t cache_int64;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(UNICACHE_BUILDING)
#define CACHE_EXTERN(type) __declspec(dllexport) type
#elif defined(__GNUC__)
#define CACHE_EXTERN(type) __attribute__((visibility("default"))) type
#else
#define CACHE_EXTERN(type) type
#endif

/* ---------------------------------------------------------------- version */

#define CACHE_VERSION_MAJOR 0
#define CACHE_VERSION_MINOR 1
#define CACHE_VERSION_PATCH 0
#define CACHE_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define CACHE_VERSION_NUMBER 100

/* The library's version as "MAJOR.MINOR.PATCH"; static storage. */
CACHE_EXTERN(const char *) cache_version(void);

/* ----------------------------------------------------------------- status */

/*
 * Status codes. The numbers are part of the ABI: they never change and a
 * retired code keeps its slot.
 */
#define CACHE_OK 0           /* success */
#define CACHE_MISS 1         /* key absent or expired (not an error) */
#define CACHE_EINVAL (-1)    /* invalid argument, URI, JSON or pattern */
#define CACHE_ENOMEM (-2)    /* out of memory */
#define CACHE_EUNAVAILABLE (-3) /* backend cannot be reached */
#define CACHE_ETIMEOUT (-4)  /* backend did not answer in time */
#define CACHE_ENOTSUP (-5)   /* operation not supported by this backend */
#define CACHE_ETOOBIG (-6)   /* key or value larger than the limit */
#define CACHE_ENAN (-7)      /* stored value is not a decimal integer */
#define CACHE_EIO (-8)       /* I/O error (file system, protocol) */
#define CACHE_ECORRUPT (-9)  /* storage is corrupt or not a unicache store */
#define CACHE_EVERSION (-10) /* storage written by a newer unicache */
#define CACHE_EAUTH (-11)    /* authentication refused */
#define CACHE_ERANGE (-12)   /* counter would overflow int64 */
#define CACHE_EINTERNAL (-13) /* a bug in unicache; please report it */

/*
 * A short static description of any status value, including unknown ones
 * ("unknown status"). Never NULL.
 */
CACHE_EXTERN(const char *) cache_strerror(int status);

/*
 * What went wrong in the calling thread's most recent failed call, in words
 * a user can act on. Owned by the library, valid until the calling thread's
 * next unicache call. Never NULL ("" when nothing has failed yet). Never
 * contains a password.
 */
CACHE_EXTERN(const char *) cache_last_error(void);

/* ---------------------------------------------------------------- buffers */

/* Bytes allocated by the library for the caller. */
typedef struct cache_buf {
    void *data;  /* NUL-terminated for convenience (not counted in size) */
    size_t size;
} cache_buf;

/* A list of byte strings allocated by the library for the caller. */
typedef struct cache_buf_array {
    cache_buf *items;
    size_t count;
} cache_buf_array;

/* A byte string owned by the caller; used to pass lists of keys/values. */
typedef struct cache_slice {
    const void *data;
    size_t size;
} cache_slice;

/* Release buf->data and reset *buf to {NULL, 0}. NULL buf is a no-op. */
CACHE_EXTERN(void) cache_buf_free(cache_buf *buf);

/* Release every item and the list; reset *arr. NULL arr is a no-op. */
CACHE_EXTERN(void) cache_buf_array_free(cache_buf_array *arr);

/* ------------------------------------------------------------------ open */

typedef struct cache cache_t; /* opaque */

#define CACHE_TTL_DEFAULT (-1) /* the cache's default TTL */
#define CACHE_TTL_NONE 0       /* never expires */

#define CACHE_KEY_MAX 65536    /* longest key, in bytes, before the prefix */

/*
 * Open a cache.
 *
 * uri: "memory://?max_items=1000", "sqlite:///var/cache/app.db",
 *      "redis://:secret@127.0.0.1:6379/0", "memcached://h1:11211,h2:11211",
 *      or a JSON object such as {"backend":"memory","max_items":1000}.
 *      NULL or "" means $UNICACHE_URL, or "memory://" when that is unset.
 *      Every backend accepts the parameters prefix (prepended to every key;
 *      clear() removes only keys with this prefix) and default_ttl (ms,
 *      at most INT64_MAX / 4).
 *      Unknown schemes and parameters are CACHE_EINVAL.
 * out: receives the handle; *out is NULL on failure. Close with cache_close.
 *
 * Returns CACHE_OK, CACHE_EINVAL (bad URI/JSON or out NULL), CACHE_ENOMEM,
 * CACHE_EUNAVAILABLE, CACHE_ETIMEOUT, CACHE_EAUTH, CACHE_EIO,
 * CACHE_ECORRUPT, CACHE_EVERSION, CACHE_ENOTSUP (backend not built in).
 */
CACHE_EXTERN(int) cache_open(const char *uri, cache_t **out);

/* Options that override URI parameters; may grow, so always initialise. */
typedef struct cache_options {
    unsigned version;          /* CACHE_OPTIONS_VERSION */
    const char *prefix;        /* NULL: keep the URI's; else overrides it */
    size_t prefix_len;
    cache_int64 default_ttl_ms; /* CACHE_TTL_DEFAULT: keep the URI's; else
                                   0 to INT64_MAX / 4 (over: CACHE_EINVAL) */
} cache_options;

#define CACHE_OPTIONS_VERSION 1
#define CACHE_OPTIONS_INIT { CACHE_OPTIONS_VERSION, NULL, 0, CACHE_TTL_DEFAULT }

/*
 * Fill opts with defaults for the given version (for FFI users that cannot
 * use CACHE_OPTIONS_INIT). Returns CACHE_OK or CACHE_EINVAL (NULL opts or an
 * unknown version).
 */
CACHE_EXTERN(int) cache_options_init(cache_options *opts, unsigned version);

/* cache_open, then apply opts (may be NULL). Same statuses as cache_open. */
CACHE_EXTERN(int) cache_open_ext(const char *uri, const cache_options *opts,
                                 cache_t **out);

/*
 * Close the handle and release everything it holds. NULL is a no-op.
 * Calls that other threads are inside when cache_close starts are waited
 * for: cache_close returns once they have returned, then frees the handle.
 * A call that starts after cache_close has started (on any thread), a
 * second cache_close of the same handle, and a cache_close from inside a
 * call on the same handle (a callback) are the caller's bug, with
 * undefined results, as with sqlite3_close: stop your threads' use of a
 * handle before closing it, or accept that only calls already running are
 * waited for.
 */
CACHE_EXTERN(void) cache_close(cache_t *cache);

/* ----------------------------------------------------------- single keys */

/*
 * Store value under key with the given TTL.
 * Returns CACHE_OK, CACHE_EINVAL, CACHE_ETOOBIG, CACHE_ENOMEM, or a backend
 * error (CACHE_EUNAVAILABLE, CACHE_ETIMEOUT, CACHE_EIO, ...).
 */
CACHE_EXTERN(int) cache_set(cache_t *cache, const void *key, size_t key_len,
                            const void *value, size_t value_len,
                            cache_int64 ttl_ms);

/*
 * Store value only if key is absent (or expired). Returns CACHE_OK when
 * stored, CACHE_MISS when the key was already present (nothing changed), or
 * an error as cache_set. Useful as a lock for stampede protection.
 */
CACHE_EXTERN(int) cache_add(cache_t *cache, const void *key, size_t key_len,
                            const void *value, size_t value_len,
                            cache_int64 ttl_ms);

/*
 * Fetch key. On CACHE_OK, *value holds a copy that the caller frees with
 * cache_buf_free. On CACHE_MISS or an error, *value is {NULL, 0}.
 * Returns CACHE_OK, CACHE_MISS, CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_get(cache_t *cache, const void *key, size_t key_len,
                            cache_buf *value);

/*
 * Fetch key into the caller's buffer: no allocation. dst (capacity bytes,
 * owned by the caller; may be NULL when capacity is 0, to ask for the size)
 * receives the value; *size receives its length.
 *  - CACHE_OK: the value is in dst[0 .. *size).
 *  - CACHE_ETOOBIG: the value is longer than capacity; *size is the length
 *    it needs. dst is untouched and nothing else changes, so the caller can
 *    retry with a buffer of *size bytes (the value may change in between).
 *  - CACHE_MISS, or any error: *size is 0 and dst is untouched.
 * A hit counts in the statistics as with cache_get; CACHE_ETOOBIG counts as
 * neither a hit nor a miss. Returns CACHE_OK, CACHE_MISS, CACHE_ETOOBIG,
 * CACHE_EINVAL (cache, key or size NULL; dst NULL with capacity > 0), or a
 * backend error as cache_get.
 */
CACHE_EXTERN(int) cache_get_into(cache_t *cache, const void *key,
                                 size_t key_len, void *dst, size_t capacity,
                                 size_t *size);

/* Remove key. Returns CACHE_OK (removed), CACHE_MISS (absent), or error. */
CACHE_EXTERN(int) cache_delete(cache_t *cache, const void *key, size_t key_len);

/* Returns CACHE_OK (present), CACHE_MISS (absent or expired), or error. */
CACHE_EXTERN(int) cache_exists(cache_t *cache, const void *key, size_t key_len);

/*
 * Add delta to the signed 64-bit counter stored at key as ASCII decimal
 * ("-2"): an optional '-' and one or more digits, leading zeros of any
 * length accepted ("007"). A missing key starts from 0 and is created with
 * the default TTL; an existing key keeps its TTL. result (may be NULL)
 * receives the new value.
 * Returns CACHE_OK, CACHE_ENAN (value is not a decimal integer),
 * CACHE_ERANGE (would overflow), CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_incr(cache_t *cache, const void *key, size_t key_len,
                             cache_int64 delta, cache_int64 *result);

/* cache_incr with -delta (delta == INT64_MIN is CACHE_ERANGE). */
CACHE_EXTERN(int) cache_decr(cache_t *cache, const void *key, size_t key_len,
                             cache_int64 delta, cache_int64 *result);

/* Flags of cache_incr_ext (bitwise or). */
#define CACHE_INCR_EXISTING 1u /* a missing key is CACHE_MISS, not created */

/*
 * cache_incr with more control: what a missing key does, and the TTL a
 * counter gets when this call creates it (frameworks' counters ask for
 * both: Django's incr fails on a missing key, Rails' increment takes
 * expires_in for a new counter).
 *
 * delta: added to the counter (negative to decrement; INT64_MIN is fine).
 * ttl_ms_if_new: TTL of a counter created here, as cache_set's ttl_ms
 *      (CACHE_TTL_DEFAULT, CACHE_TTL_NONE or > 0); an existing counter
 *      keeps its TTL. Checked even when CACHE_INCR_EXISTING is given.
 * flags: 0 or CACHE_INCR_EXISTING. With CACHE_INCR_EXISTING, a missing or
 *      expired key is left absent and the call returns CACHE_MISS; the
 *      check and the add are one atomic step on every backend, so a
 *      concurrent delete never resurrects the counter.
 * result (may be NULL) receives the new value on CACHE_OK; untouched
 *      otherwise.
 *
 * Returns CACHE_OK, CACHE_MISS (only with CACHE_INCR_EXISTING), CACHE_ENAN,
 * CACHE_ERANGE, CACHE_EINVAL (NULL handle or key, unknown flag bits, a bad
 * TTL), CACHE_ENOTSUP (a backend without this operation), or a backend
 * error.
 */
CACHE_EXTERN(int) cache_incr_ext(cache_t *cache, const void *key,
                                 size_t key_len, cache_int64 delta,
                                 cache_int64 ttl_ms_if_new, unsigned flags,
                                 cache_int64 *result);

/*
 * Give an existing key a new TTL counted from now (CACHE_TTL_DEFAULT: the
 * default TTL; CACHE_TTL_NONE: never expires).
 * Returns CACHE_OK, CACHE_MISS (absent), CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_touch(cache_t *cache, const void *key, size_t key_len,
                              cache_int64 ttl_ms);

/*
 * Make an existing key expire at a wall-clock time (Unix epoch, ms). A time
 * in the past (INT64_MIN included) removes the key now; a time further
 * ahead than the longest TTL (INT64_MAX included) gives the longest TTL.
 * Returns as cache_touch.
 */
CACHE_EXTERN(int) cache_expire_at(cache_t *cache, const void *key,
                                  size_t key_len, cache_int64 unix_ms);

/*
 * Remaining lifetime of key in ms (at least 1), or -1 when it never expires.
 * Returns CACHE_OK, CACHE_MISS (absent; *ttl_ms untouched), CACHE_EINVAL
 * (ttl_ms NULL), or a backend error.
 */
CACHE_EXTERN(int) cache_ttl(cache_t *cache, const void *key, size_t key_len,
                            cache_int64 *ttl_ms);

/* ------------------------------------------------------------------ batch */

/*
 * Fetch n keys at once. values[i] and statuses[i] (caller-provided arrays of
 * n elements) receive each key's value and CACHE_OK / CACHE_MISS. Free each
 * values[i] with cache_buf_free. Returns CACHE_OK when every key was looked
 * up (hit or miss), else an error (then every values[i] is {NULL, 0}).
 */
CACHE_EXTERN(int) cache_get_many(cache_t *cache, const cache_slice *keys,
                                 size_t n, cache_buf *values, int *statuses);

/* Store n key/value pairs with one TTL. Returns as cache_set. A failure may
 * leave some pairs stored (each pair is stored whole or not at all). */
CACHE_EXTERN(int) cache_set_many(cache_t *cache, const cache_slice *keys,
                                 const cache_slice *values, size_t n,
                                 cache_int64 ttl_ms);

/* Remove n keys; *deleted (may be NULL) receives how many existed.
 * Returns CACHE_OK or an error. */
CACHE_EXTERN(int) cache_delete_many(cache_t *cache, const cache_slice *keys,
                                    size_t n, size_t *deleted);

/* --------------------------------------------------------------- patterns */

/*
 * Glob patterns, the same on every backend, matched against whole keys
 * (without the prefix): '*' any run of bytes, '?' one byte, "[abc]" one of
 * the set, "[a-z]" a range, "[!abc]" or "[^abc]" none of the set, '\' makes
 * the next byte literal. A trailing '\' or an unclosed '[' is CACHE_EINVAL.
 */

/*
 * List keys (prefix removed) that match pattern, at most limit of them
 * (0: no limit), in no particular order. Free *keys with
 * cache_buf_array_free. Returns CACHE_OK, CACHE_EINVAL, CACHE_ENOTSUP
 * (backend cannot enumerate keys, e.g. memcached), or a backend error.
 */
CACHE_EXTERN(int) cache_keys(cache_t *cache, const void *pattern,
                             size_t pattern_len, size_t limit,
                             cache_buf_array *keys);

/* Remove every key matching pattern; *deleted (may be NULL) receives the
 * count. Returns as cache_keys. */
CACHE_EXTERN(int) cache_delete_pattern(cache_t *cache, const void *pattern,
                                       size_t pattern_len, size_t *deleted);

/* Remove every key of this cache: every full key that starts with its
 * prefix (so a handle with prefix "a" also removes what a handle with prefix
 * "ab" wrote; never the reverse). memcached, whose prefixes are generation
 * counters, removes only what was written through this exact prefix.
 * Returns CACHE_OK or a backend error. */
CACHE_EXTERN(int) cache_clear(cache_t *cache);

/* ------------------------------------------------------------------- tags */

/*
 * cache_set, and attach the entry to each of the ntags tags (tags may be
 * NULL when ntags is 0; each tag 1 to CACHE_KEY_MAX bytes). A tag belongs
 * to this cache's prefix: the tag "cache:users" under prefix "app:" and
 * the tag "users" under prefix "app:cache:" are two tags. Returns as
 * cache_set.
 */
CACHE_EXTERN(int) cache_set_tagged(cache_t *cache, const void *key,
                                   size_t key_len, const void *value,
                                   size_t value_len, cache_int64 ttl_ms,
                                   const cache_slice *tags, size_t ntags);

/*
 * Make every entry carrying any of the n tags a miss from now on.
 * *invalidated (may be NULL) receives how many entries were removed, or 0
 * on backends that invalidate lazily (memcached). Returns CACHE_OK,
 * CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_invalidate_tags(cache_t *cache, const cache_slice *tags,
                                        size_t n, size_t *invalidated);

/* ------------------------------------------------------------ management */

/* Check that the backend answers. CACHE_OK or a backend error. */
CACHE_EXTERN(int) cache_ping(cache_t *cache);

/*
 * Statistics as a JSON object: backend, hits, misses, hit_ratio, sets,
 * deletes, evictions, expirations, size, memory_bytes, errors (counts since
 * open; size/memory_bytes are null when the backend cannot tell), plus
 * backend-specific fields. Free *json with cache_buf_free.
 * Returns CACHE_OK, CACHE_EINVAL, CACHE_ENOMEM.
 */
CACHE_EXTERN(int) cache_stats_json(cache_t *cache, cache_buf *json);

/*
 * Backend's own description: Redis INFO text, memcached stats, SQLite
 * pragmas, memory configuration. Free *text with cache_buf_free.
 * Returns CACHE_OK, CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_backend_info(cache_t *cache, cache_buf *text);

/*
 * The name of the backend cache was opened on: "memory", "sqlite", "redis"
 * or "memcached". Static storage owned by the library, valid for the life
 * of the process; never NULL. Asks no server and reads no file, so it
 * answers at once even on a lazy_connect cache whose server is down.
 * A NULL cache returns "" and sets cache_last_error().
 */
CACHE_EXTERN(const char *) cache_backend_name(cache_t *cache);

#ifdef __cplusplus
}
#endif

#endif /* UNICACHE_H */
