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
 *  - Positive statuses (CACHE_MISS, CACHE_STALE, CACHE_WAIT) are answers,
 *    not errors: they leave cache_last_error() as it was.
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
 *  - A prefix is a namespace: the stored key is prefix + "|" + key, so the
 *    prefixes "a", "ab" and "a:b" never share or clear each other's keys
 *    (a prefix containing '|' is CACHE_EINVAL). The handle without a prefix
 *    sees every stored key as it is. With the parameter prefix_mode=raw the
 *    prefix is prepended with nothing in between instead ("a" + "bc" and
 *    "ab" + "c" are one key), to share keys with other clients. A tag
 *    always belongs to its prefix.
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
#define CACHE_OK 0   /* success */
#define CACHE_MISS 1 /* key absent or expired (not an error) */
#define CACHE_STALE                                                                                \
    2 /* a value past its expiry, served while one caller                                          \
         refreshes it (not an error) */
#define CACHE_WAIT                                                                                 \
    3                           /* another caller holds the key's lease: retry                     \
                                   later (cache_lease_get with CACHE_LEASE_NOWAIT;                 \
                                   not an error) */
#define CACHE_EINVAL (-1)       /* invalid argument, URI, JSON or pattern */
#define CACHE_ENOMEM (-2)       /* out of memory */
#define CACHE_EUNAVAILABLE (-3) /* backend cannot be reached */
#define CACHE_ETIMEOUT (-4)     /* backend did not answer in time */
#define CACHE_ENOTSUP (-5)      /* operation not supported by this backend */
#define CACHE_ETOOBIG (-6)      /* key or value larger than the limit */
#define CACHE_ENAN (-7)         /* stored value is not a decimal integer */
#define CACHE_EIO (-8)          /* I/O error (file system, protocol) */
#define CACHE_ECORRUPT (-9)     /* storage is corrupt or not a unicache store */
#define CACHE_EVERSION (-10)    /* storage written by a newer unicache */
#define CACHE_EAUTH (-11)       /* authentication refused */
#define CACHE_ERANGE (-12)      /* counter would overflow int64 */
#define CACHE_EINTERNAL (-13)   /* a bug in unicache; please report it */
#define CACHE_ELEASE                                                                               \
    (-14) /* the lease was lost (a delete or a newer set in                                        \
             between, or it expired and another caller took                                        \
             it over): nothing was stored */

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
    void *data; /* NUL-terminated for convenience (not counted in size) */
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

#define CACHE_KEY_MAX 65536 /* longest key, in bytes, before the prefix */

/*
 * Open a cache.
 *
 * uri: "memory://?max_items=1000", "sqlite:///var/cache/app.db",
 *      "redis://:secret@127.0.0.1:6379/0", "memcached://h1:11211,h2:11211",
 *      or a JSON object such as {"backend":"memory","max_items":1000}.
 *      NULL or "" means $UNICACHE_URL, or "memory://" when that is unset.
 *      Every backend accepts the parameters prefix (the cache's namespace;
 *      clear() removes only its keys), prefix_mode (namespace or raw) and
 *      default_ttl (ms, at most INT64_MAX / 4).
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
    unsigned version;   /* CACHE_OPTIONS_VERSION */
    const char *prefix; /* NULL: keep the URI's; else overrides it */
    size_t prefix_len;
    cache_int64 default_ttl_ms; /* CACHE_TTL_DEFAULT: keep the URI's; else
                                   0 to INT64_MAX / 4 (over: CACHE_EINVAL) */
} cache_options;

#define CACHE_OPTIONS_VERSION 1
#define CACHE_OPTIONS_INIT                                                                         \
    {                                                                                              \
        CACHE_OPTIONS_VERSION, NULL, 0, CACHE_TTL_DEFAULT                                          \
    }

/*
 * Fill opts with defaults for the given version (for FFI users that cannot
 * use CACHE_OPTIONS_INIT). Returns CACHE_OK or CACHE_EINVAL (NULL opts or an
 * unknown version).
 */
CACHE_EXTERN(int) cache_options_init(cache_options *opts, unsigned version);

/* cache_open, then apply opts (may be NULL). Same statuses as cache_open. */
CACHE_EXTERN(int) cache_open_ext(const char *uri, const cache_options *opts, cache_t **out);

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
CACHE_EXTERN(int)
cache_set(cache_t *cache, const void *key, size_t key_len, const void *value, size_t value_len,
          cache_int64 ttl_ms);

/*
 * Store value only if key is absent (or expired). Returns CACHE_OK when
 * stored, CACHE_MISS when the key was already present (nothing changed), or
 * an error as cache_set. Useful as a lock for stampede protection.
 */
CACHE_EXTERN(int)
cache_add(cache_t *cache, const void *key, size_t key_len, const void *value, size_t value_len,
          cache_int64 ttl_ms);

/*
 * Fetch key. On CACHE_OK, *value holds a copy that the caller frees with
 * cache_buf_free. On CACHE_MISS or an error, *value is {NULL, 0}.
 * Returns CACHE_OK, CACHE_MISS, CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_get(cache_t *cache, const void *key, size_t key_len, cache_buf *value);

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
CACHE_EXTERN(int)
cache_get_into(cache_t *cache, const void *key, size_t key_len, void *dst, size_t capacity,
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
CACHE_EXTERN(int)
cache_incr(cache_t *cache, const void *key, size_t key_len, cache_int64 delta, cache_int64 *result);

/* cache_incr with -delta (delta == INT64_MIN is CACHE_ERANGE). */
CACHE_EXTERN(int)
cache_decr(cache_t *cache, const void *key, size_t key_len, cache_int64 delta, cache_int64 *result);

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
CACHE_EXTERN(int)
cache_incr_ext(cache_t *cache, const void *key, size_t key_len, cache_int64 delta,
               cache_int64 ttl_ms_if_new, unsigned flags, cache_int64 *result);

/*
 * Give an existing key a new TTL counted from now (CACHE_TTL_DEFAULT: the
 * default TTL; CACHE_TTL_NONE: never expires).
 * Returns CACHE_OK, CACHE_MISS (absent), CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int) cache_touch(cache_t *cache, const void *key, size_t key_len, cache_int64 ttl_ms);

/*
 * Make an existing key expire at a wall-clock time (Unix epoch, ms). A time
 * in the past (INT64_MIN included) removes the key now; a time further
 * ahead than the longest TTL (INT64_MAX included) gives the longest TTL.
 * Returns as cache_touch.
 */
CACHE_EXTERN(int)
cache_expire_at(cache_t *cache, const void *key, size_t key_len, cache_int64 unix_ms);

/*
 * Remaining lifetime of key in ms (at least 1), or -1 when it never expires.
 * Returns CACHE_OK, CACHE_MISS (absent; *ttl_ms untouched), CACHE_EINVAL
 * (ttl_ms NULL), or a backend error.
 */
CACHE_EXTERN(int) cache_ttl(cache_t *cache, const void *key, size_t key_len, cache_int64 *ttl_ms);

/* ------------------------------------------- get or compute (stampedes) */

/*
 * When a popular entry expires, every caller that wants it would recompute
 * it at once. These calls let one caller compute it while the others wait
 * for its result (or are served the old value), across every process and
 * thread that shares the backend. Four mechanisms, each a URI/JSON
 * parameter accepted by every backend (and by a tiered cache, whose leases
 * live in its lowest tier):
 *
 *  - Leases (always on). A miss grants a lease on the key to one caller;
 *    the others wait for its value. lease_ttl (ms, default 10000, 1 to
 *    INT64_MAX / 4): how long a lease holds before another caller may take
 *    over, so a crashed or hung holder blocks a key for at most that long.
 *    A delete of the key, or a set that ends the lease, makes the holder's
 *    later cache_lease_set fail with CACHE_ELEASE and store nothing.
 *  - Waiting. lock_timeout (ms, default 5000, 0 to INT64_MAX / 4): how
 *    long a caller waits for another caller's result before it computes
 *    itself (without storing: it holds no lease). Waiters back off from
 *    1 ms to 50 ms between looks (in-process backends wake them at once),
 *    they never spin.
 *  - Stale-while-revalidate. stale_ttl (ms, default 0: off, up to
 *    INT64_MAX / 4): for this long after expiry the old value is served
 *    with CACHE_STALE, without waiting, while one caller refreshes it.
 *  - Early refresh (XFetch). early_refresh (the beta of Vattani et al.,
 *    VLDB 2015; default 0: off; 0 to 100): before expiry, a hit elects
 *    itself to recompute with a probability that grows as expiry nears:
 *    now - compute_time * beta * ln(random()) >= expiry. 1 is the paper's
 *    choice; larger refreshes earlier.
 * Each can also be given for one call (cache_fetch_options, below); the
 * stale window is then the one of the call that stored the value.
 * The defaults change nothing for callers that do not use these calls and
 * cost nothing on a hit: a lease is taken only on a miss, stale copies
 * and compute times are kept only when stale_ttl or early_refresh ask for
 * them (then every cache_set through the handle keeps them too, and ends
 * the key's lease).
 *
 * What a caller sees over an entry's life (ttl T, S the stale window the
 * value was stored with):
 *    before the first fill    one caller: compute; the others wait
 *    0 .. T                   CACHE_OK (with early_refresh, one caller may
 *                             recompute shortly before T; others: CACHE_OK)
 *    T .. T+S                 CACHE_STALE at once; one caller recomputes
 *    after T+S, deleted, or   as before the first fill
 *    one of its tags invalidated
 */

/* Flags of cache_lease_get (bitwise or). */
#define CACHE_LEASE_NOWAIT 1u /* return CACHE_WAIT instead of waiting */

/*
 * A lease on one key of one handle, held by the caller that was granted
 * it. Caller-owned (on the stack is fine) and initialised with
 * CACHE_LEASE_INIT or cache_lease_init(); the fields are private. A value
 * type rather than a handle, so that a lease used on another key, or
 * after cache_lease_set / cache_lease_release ended it, is a clear
 * CACHE_EINVAL instead of a use after free. Copying one does not copy the
 * lease: only one of the copies can end it.
 */
typedef struct cache_lease {
    cache_int64 token_;   /* private: 0 when no lease is held */
    cache_int64 check_;   /* private: which handle and key it is for */
    cache_int64 started_; /* private: when it was granted (for XFetch) */
} cache_lease;

#define CACHE_LEASE_INIT                                                                           \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

/* Set *lease to CACHE_LEASE_INIT. NULL is a no-op. */
CACHE_EXTERN(void) cache_lease_init(cache_lease *lease);

/* 1 when lease holds a lease (granted and not yet ended), else 0 (NULL
 * included). */
CACHE_EXTERN(int) cache_lease_held(const cache_lease *lease);

/*
 * Read key, and take its lease when this caller should compute it.
 * lease must hold no lease (CACHE_LEASE_INIT, or one already ended).
 * value receives a copy (free with cache_buf_free) on CACHE_OK and
 * CACHE_STALE; {NULL, 0} otherwise.
 *
 *  - CACHE_OK: a fresh value. With early_refresh on, this caller may have
 *    been elected to refresh it early: then cache_lease_held(lease) is 1
 *    and the caller should compute and cache_lease_set (or release).
 *  - CACHE_STALE: the value expired less than stale_ttl ago. When
 *    cache_lease_held(lease) is 1, this caller refreshes it; otherwise
 *    another caller is at it.
 *  - CACHE_MISS: absent. cache_lease_held(lease) is 1: this caller holds
 *    the lease; compute the value and cache_lease_set it (or
 *    cache_lease_release it if the compute fails). 0: another caller held
 *    the lease for lock_timeout without storing a value; compute it
 *    without storing.
 *  - CACHE_WAIT (only with CACHE_LEASE_NOWAIT): another caller holds the
 *    lease; call again later. Without the flag this call waits instead,
 *    up to lock_timeout.
 * flags: 0 or CACHE_LEASE_NOWAIT.
 * Returns those, CACHE_EINVAL (cache, key, value or lease NULL, a lease
 * still held, unknown flag bits), CACHE_ETOOBIG (key too long),
 * CACHE_ENOMEM, or a backend error (then no lease is held).
 */
CACHE_EXTERN(int)
cache_lease_get(cache_t *cache, const void *key, size_t key_len, unsigned flags, cache_buf *value,
                cache_lease *lease);

/*
 * Store value under key with ttl_ms (as cache_set), only while lease still
 * holds the key's lease; ends the lease whatever happens (cache_lease_held
 * is 0 afterwards), except for a CACHE_EINVAL about the lease itself (not
 * held, or granted for another key or handle), which leaves it as it was.
 * Waiters see the value at once.
 * Returns CACHE_OK (stored), CACHE_ELEASE (the lease was lost: the key was
 * deleted or set since it was granted, or the lease expired and another
 * caller took it; nothing stored), CACHE_EINVAL (NULL arguments, a lease
 * not held, a lease granted for another key or another handle, a bad
 * TTL), CACHE_ETOOBIG, CACHE_ENOMEM, or a backend error.
 */
CACHE_EXTERN(int)
cache_lease_set(cache_t *cache, const void *key, size_t key_len, cache_lease *lease,
                const void *value, size_t value_len, cache_int64 ttl_ms);

/*
 * End lease without storing anything, so that another caller can compute
 * the value at once (a compute that failed). Returns CACHE_OK (released or
 * already lost: either way nobody waits on it), CACHE_EINVAL (NULL
 * arguments, a lease not held, a lease for another key or handle), or a
 * backend error (the lease then ends by itself after lease_ttl). The lease
 * is ended in every case but a CACHE_EINVAL about the lease itself.
 */
CACHE_EXTERN(int)
cache_lease_release(cache_t *cache, const void *key, size_t key_len, cache_lease *lease);

/*
 * Allocate size bytes for a value that a cache_compute_fn hands to
 * cache_fetch (which takes ownership), or for anything the caller later
 * releases with cache_buf_free. buf->data is NUL-terminated (not counted
 * in size); its contents are undefined. size 0 gives {NULL, 0}.
 * Returns CACHE_OK, CACHE_EINVAL (buf NULL), CACHE_ETOOBIG (size over
 * SIZE_MAX / 2: no backend stores such a value) or CACHE_ENOMEM; on an
 * error *buf is {NULL, 0}.
 */
CACHE_EXTERN(int) cache_buf_alloc(cache_buf *buf, size_t size);

/*
 * Called by cache_fetch on a miss. Fill *value with memory from
 * cache_buf_alloc (or leave it {NULL, 0} for an empty value) and
 * optionally change *ttl_ms; return CACHE_OK, or a negative status that
 * cache_fetch returns without caching anything. key is the caller's key
 * (without the prefix), valid during the call. The callback may call
 * unicache on other keys, but not cache_close on this handle.
 */
typedef int (*cache_compute_fn)(void *ctx, const void *key, size_t key_len, cache_buf *value,
                                cache_int64 *ttl_ms);

/*
 * Return the cached value, or compute it once across every process
 * sharing the backend: a loop over cache_lease_get, compute and
 * cache_lease_set. ctx is passed to compute untouched. value receives the
 * value (free with cache_buf_free) on CACHE_OK and CACHE_STALE.
 *
 * Returns CACHE_OK (a hit, or the value this call computed, stored or
 * not: a delete during the compute keeps it from being stored, not from
 * being returned), CACHE_STALE (the old value, while another caller
 * refreshes it), the negative status compute returned (the lease is
 * released at once and nothing is stored), CACHE_EINVAL (NULL cache, key,
 * compute or value; a TTL out of range, given or set by compute; compute
 * returning anything but CACHE_OK or a CACHE_E* error (a positive status,
 * an unknown negative one), or CACHE_OK with a value not of
 * cache_buf_alloc's shape, i.e. data NULL with size > 0), CACHE_ETOOBIG,
 * CACHE_ENOMEM, or a backend error. A failed early refresh (early_refresh)
 * still returns the fresh value with CACHE_OK.
 */
CACHE_EXTERN(int)
cache_fetch(cache_t *cache, const void *key, size_t key_len, cache_compute_fn compute, void *ctx,
            cache_int64 ttl_ms, cache_buf *value);

/*
 * Per-call stampede settings, for the _ext forms below: each field
 * overrides the cache's URI parameter of the same name for that one call
 * or keeps it (CACHE_FETCH_KEEP; for early_refresh any negative value).
 * A decorator or a framework's fetch can so give each of its entries its
 * own stale window and early refresh on one shared handle. Caller-owned;
 * the library reads it during the call and keeps no pointer to it. May
 * grow: initialise it with CACHE_FETCH_OPTIONS_INIT or
 * cache_fetch_options_init(), then set the fields you want. A NULL
 * pointer means the cache's settings, exactly as the calls without _ext.
 *
 * Which call reads which field:
 *  - lease_ttl_ms and lock_timeout_ms: the read (cache_lease_get_ext, and
 *    cache_fetch_ext's own read): how long a lease granted to this caller
 *    holds, and how long this caller waits for another caller's value.
 *  - early_refresh: the read (whether this hit elects itself to refresh
 *    early) and the write (a value written with early_refresh above 0
 *    keeps its compute time, which the election needs).
 *  - stale_ttl_ms: the write (cache_lease_set_ext, and cache_fetch_ext's
 *    store). The stale window belongs to the value: it is fixed when the
 *    value is stored, and every reader of it, whatever its own settings,
 *    is served CACHE_STALE for stale_ttl_ms after its expiry. A value
 *    stored with CACHE_TTL_NONE never goes stale. The read too: a stale
 *    read that takes the lease keeps the old value served for at least
 *    stale_ttl_ms from then, so the others are not made to wait if the
 *    refresh outlasts the window (Rails' race_condition_ttl).
 */
typedef struct cache_fetch_options {
    unsigned version;            /* CACHE_FETCH_OPTIONS_VERSION */
    cache_int64 lease_ttl_ms;    /* CACHE_FETCH_KEEP, or 1 to INT64_MAX / 4 */
    cache_int64 lock_timeout_ms; /* CACHE_FETCH_KEEP, or 0 to INT64_MAX / 4 */
    cache_int64 stale_ttl_ms;    /* CACHE_FETCH_KEEP, or 0 (none) to INT64_MAX / 4 */
    double early_refresh;        /* negative: keep; else 0 (off) to 100 */
} cache_fetch_options;

#define CACHE_FETCH_KEEP (-1) /* keep the cache's value of this field */
#define CACHE_FETCH_OPTIONS_VERSION 1
#define CACHE_FETCH_OPTIONS_INIT                                                                   \
    {                                                                                              \
        CACHE_FETCH_OPTIONS_VERSION, CACHE_FETCH_KEEP, CACHE_FETCH_KEEP, CACHE_FETCH_KEEP, -1.0    \
    }

/*
 * Fill opts with CACHE_FETCH_OPTIONS_INIT for the given version (for FFI
 * users that cannot use the macro). Returns CACHE_OK, or CACHE_EINVAL
 * (NULL opts, or a version this library does not know).
 */
CACHE_EXTERN(int) cache_fetch_options_init(cache_fetch_options *opts, unsigned version);

/*
 * cache_lease_get with per-call settings (opts may be NULL: the cache's).
 * Returns what cache_lease_get returns, and CACHE_EINVAL for opts of an
 * unknown version or a field out of its range (NaN included); then
 * nothing is read and no lease is granted.
 */
CACHE_EXTERN(int)
cache_lease_get_ext(cache_t *cache, const void *key, size_t key_len, unsigned flags,
                    const cache_fetch_options *opts, cache_buf *value, cache_lease *lease);

/*
 * cache_lease_set with per-call settings (opts may be NULL: the cache's):
 * the value is stored with opts' stale window, and keeps its compute time
 * when opts' early_refresh is above 0. Returns what cache_lease_set
 * returns, and CACHE_EINVAL for bad opts (as cache_lease_get_ext), which
 * leaves the lease as it was (still held: set or release it).
 */
CACHE_EXTERN(int)
cache_lease_set_ext(cache_t *cache, const void *key, size_t key_len, cache_lease *lease,
                    const void *value, size_t value_len, cache_int64 ttl_ms,
                    const cache_fetch_options *opts);

/*
 * cache_lease_set_ext, and attach the stored entry to each of the ntags
 * tags (tags may be NULL when ntags is 0; each tag 1 to CACHE_KEY_MAX
 * bytes, owned by the caller, read during the call only), as
 * cache_set_tagged does. The lease check, the store and the tags are one
 * step: a delete or a newer set since the lease was granted refuses the
 * tagged store too (CACHE_ELEASE, nothing stored, no tag attached).
 * Returns what cache_lease_set_ext returns; a bad tag (NULL data with a
 * size, an empty or too long one, tags NULL with ntags > 0) is
 * CACHE_EINVAL and leaves the lease held. CACHE_ENOTSUP on a backend
 * without tags.
 */
CACHE_EXTERN(int)
cache_lease_set_tagged(cache_t *cache, const void *key, size_t key_len, cache_lease *lease,
                       const void *value, size_t value_len, cache_int64 ttl_ms,
                       const cache_slice *tags, size_t ntags, const cache_fetch_options *opts);

/*
 * cache_fetch with per-call settings (opts may be NULL: the cache's),
 * used for its read, its waiting and its store. Returns what cache_fetch
 * returns, and CACHE_EINVAL for bad opts (as cache_lease_get_ext); then
 * compute is not called.
 *
 * Statistics, for cache_fetch and cache_fetch_ext alike: one hit for a
 * fresh or stale value served (a waiter that gets the holder's value
 * included), one miss for a call that computes (holder, or a waiter past
 * lock_timeout), and one set when the computed value is stored.
 */
CACHE_EXTERN(int)
cache_fetch_ext(cache_t *cache, const void *key, size_t key_len, cache_compute_fn compute,
                void *ctx, cache_int64 ttl_ms, const cache_fetch_options *opts, cache_buf *value);

/* ------------------------------------------------------------------ batch */

/*
 * Fetch n keys at once. values[i] and statuses[i] (caller-provided arrays of
 * n elements) receive each key's value and CACHE_OK / CACHE_MISS. Free each
 * values[i] with cache_buf_free. Returns CACHE_OK when every key was looked
 * up (hit or miss), else an error (then every values[i] is {NULL, 0}).
 */
CACHE_EXTERN(int)
cache_get_many(cache_t *cache, const cache_slice *keys, size_t n, cache_buf *values, int *statuses);

/* Store n key/value pairs with one TTL. Returns as cache_set. A failure may
 * leave some pairs stored (each pair is stored whole or not at all). */
CACHE_EXTERN(int)
cache_set_many(cache_t *cache, const cache_slice *keys, const cache_slice *values, size_t n,
               cache_int64 ttl_ms);

/* Remove n keys; *deleted (may be NULL) receives how many existed.
 * Returns CACHE_OK or an error. */
CACHE_EXTERN(int)
cache_delete_many(cache_t *cache, const cache_slice *keys, size_t n, size_t *deleted);

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
CACHE_EXTERN(int)
cache_keys(cache_t *cache, const void *pattern, size_t pattern_len, size_t limit,
           cache_buf_array *keys);

/* Remove every key matching pattern; *deleted (may be NULL) receives the
 * count. Returns as cache_keys. */
CACHE_EXTERN(int)
cache_delete_pattern(cache_t *cache, const void *pattern, size_t pattern_len, size_t *deleted);

/* Remove every key of this cache: with a prefix, exactly the keys of its
 * namespace (none of prefix "ab"'s for prefix "a"); without one, every key
 * of every prefix. With prefix_mode=raw: every full key that starts with
 * the prefix (so prefix "a" also removes what prefix "ab" wrote; never the
 * reverse), except on memcached, whose raw prefixes are generation
 * counters: there only what was written through this exact prefix.
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
CACHE_EXTERN(int)
cache_set_tagged(cache_t *cache, const void *key, size_t key_len, const void *value,
                 size_t value_len, cache_int64 ttl_ms, const cache_slice *tags, size_t ntags);

/*
 * Make every entry carrying any of the n tags a miss from now on.
 * *invalidated (may be NULL) receives how many entries were removed, or 0
 * on backends that invalidate lazily (memcached). Returns CACHE_OK,
 * CACHE_EINVAL, or a backend error.
 */
CACHE_EXTERN(int)
cache_invalidate_tags(cache_t *cache, const cache_slice *tags, size_t n, size_t *invalidated);

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
 * The statistics of cache_stats_json in the Prometheus text exposition
 * format (version 0.0.4), for a /metrics endpoint: every family with its
 * HELP and TYPE lines; counters named *_total (unicache_hits_total,
 * unicache_misses_total, unicache_sets_total, unicache_deletes_total,
 * unicache_errors_total, unicache_evictions_total,
 * unicache_expirations_total, unicache_operations_total{op}), gauges
 * (unicache_entries, unicache_memory_bytes, unicache_breaker_open) and the
 * latency histograms as unicache_operation_duration_seconds{op} with
 * _bucket{le=...}, _sum and _count (from the timed calls, about one in 64
 * per thread; unicache_operations_total counts every call). Every sample
 * has a backend label (its backend's name) and a tier label: "cache" for
 * the handle as a whole, "1", "2", ... for the tiers of a tiered cache
 * (fastest first), "fallback" for its fallback. No password, no key, no
 * value. Free *text with cache_buf_free; on failure *text is {NULL, 0}.
 * Returns CACHE_OK, CACHE_EINVAL (cache or text NULL), CACHE_ENOMEM.
 */
CACHE_EXTERN(int) cache_stats_prometheus(cache_t *cache, cache_buf *text);

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

/* ------------------------------------------------------------------- logs */

/*
 * Levels of a log line; a smaller number is more severe.
 */
#define CACHE_LOG_ERROR 1 /* an operation failed in a way an operator must fix */
#define CACHE_LOG_WARN                                                                             \
    2                     /* connection lost or restored, breaker opened or                        \
                             closed, server dropped, slow operation, a store                       \
                             recovered after a crash */
#define CACHE_LOG_INFO 3  /* retries, coherence flushes */
#define CACHE_LOG_DEBUG 4 /* detail for debugging unicache itself */

/*
 * A log handler. ctx is the pointer given to cache_set_log_handler; level
 * is one of CACHE_LOG_*; message is one line of text without a trailing
 * newline, owned by the library and valid only during the call. A message
 * never contains a password or a value.
 */
typedef void (*cache_log_fn)(void *ctx, int level, const char *message);

/*
 * Send the library's log lines to fn (process-wide: every handle, every
 * thread). A line is delivered when its level is at most min_level, so
 * min_level CACHE_LOG_WARN delivers errors and warnings. fn NULL (or
 * min_level below CACHE_LOG_ERROR) turns logging off, the default; then
 * no line is even formatted.
 *
 * Delivery: fn is called in the thread whose work produced the line, once
 * that thread holds no lock of the library (at the end of the API call
 * that produced it, or at a safe point of a library background thread,
 * such as the Redis invalidation watcher), so fn may call any unicache
 * function, this one included. Lines produced by such calls from inside fn
 * are delivered after fn returns, never recursively. fn may be called from
 * several threads at once. ctx is not owned by the library. This function
 * returns once no other thread is delivering to the handler it replaces,
 * so the old handler's ctx may be freed then; called from inside a handler
 * it does not wait (that delivery is still running). So a handler must not
 * wait for a thread that is calling this function.
 * Lines are not reordered within one thread; a thread that queues more
 * than 1000 lines between two deliveries drops the rest and delivers a
 * line that says how many it dropped.
 *
 * Returns CACHE_OK, or CACHE_EINVAL when min_level is above
 * CACHE_LOG_DEBUG (the handler is then left unchanged).
 */
CACHE_EXTERN(int) cache_set_log_handler(cache_log_fn fn, void *ctx, int min_level);

#ifdef __cplusplus
}
#endif

#endif /* UNICACHE_H */
