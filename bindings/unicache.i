/*
 * unicache.i: the one SWIG interface for every language binding.
 *
 * It wraps one class, Handle, around a cache_t. Both languages share the
 * methods and the shape of every typemap; the code that touches a
 * language's objects lives under #ifdef SWIGPYTHON / SWIGRUBY. The raw
 * modules it generates stay private (Python: unicache._unicache, Ruby:
 * Unicache::Native); bindings/python and bindings/ruby give each language
 * its idioms on top.
 *
 * Why a small struct around cache_t instead of %extend on cache_t itself:
 * the wrapper must know (1) whether calls may block, because releasing the
 * GIL/GVL costs as much as a whole memory-backend get and buys nothing
 * there, and (2) how many calls are in flight without the GIL, so that
 * close() from one thread never frees a handle another thread is using.
 */
#if defined(SWIGPYTHON)
%module(package="unicache") _unicache
#elif defined(SWIGRUBY)
%module "unicache::native"
#else
#error "unicache.i supports Python and Ruby"
#endif

%feature("compactdefaultargs");

%{
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <new>
#include <stdlib.h>
#include <string.h>

#include "unicache.h"

#ifdef SWIGRUBY
#include <ruby/encoding.h>
#include <ruby/thread.h>
#endif

/* Statuses of our own, never C ABI ones: "this handle is closed", "out
 * of memory before any C call", and "the binding already raised" (Python:
 * the exception is set). */
#define UC_ECLOSED INT_MIN
#define UC_ENOMEM (INT_MIN + 1)
#define UC_ERAISED (INT_MIN + 2)

/* Values of Handle._set_codec() (Python only; Ruby serialises in Ruby). */
enum { UC_CODEC_RAW = 0, UC_CODEC_JSON = 1, UC_CODEC_OBJECT = 2 };

typedef int uc_status;        /* C status: errors raise, OK/MISS -> bool */
typedef cache_int64 uc_ttl;   /* seconds in, milliseconds to C */

struct uc_handle {
    cache_t *cache;  /* NULL once closed */
    int blocking;    /* the backend does network or file I/O */
    int busy;        /* calls running without the GIL/GVL */
    int closing;     /* close() ran while busy: the last call closes */
    char backend[32];
#ifdef SWIGPYTHON
    int codec;
    PyObject *dumps; /* JSON: an encoder returning str; OBJECT: any dumps */
    PyObject *loads; /* JSON: a decoder taking str; OBJECT: any loads */
#endif
};

/* ------------------------------------------------ statuses -> exceptions */

/*
 * One row per status family. Python classes also derive from the builtin
 * exception a Python programmer would catch for that situation; Ruby's
 * single inheritance keeps them under Unicache::Error.
 */
struct uc_error_kind {
    int status;
    const char *py_name;
    const char *py_builtin; /* second base class, or NULL */
    const char *rb_name;
};

static const struct uc_error_kind uc_error_kinds[] = {
    {CACHE_EINVAL, "InvalidArgument", "ValueError", "InvalidArgumentError"},
    {CACHE_ENOMEM, "CacheMemoryError", "MemoryError", "OutOfMemoryError"},
    {CACHE_EUNAVAILABLE, "CacheUnavailable", "ConnectionError", "UnavailableError"},
    {CACHE_ETIMEOUT, "CacheTimeout", "TimeoutError", "TimeoutError"},
    {CACHE_ENOTSUP, "NotSupported", NULL, "NotSupportedError"},
    {CACHE_ETOOBIG, "TooBig", "ValueError", "TooBigError"},
    {CACHE_ENAN, "NotANumber", "ValueError", "NotANumberError"},
    {CACHE_EIO, "CacheIOError", "OSError", "CacheIOError"},
    {CACHE_ECORRUPT, "CorruptStore", NULL, "CorruptStoreError"},
    {CACHE_EVERSION, "StoreVersionError", NULL, "StoreVersionError"},
    {CACHE_EAUTH, "AuthenticationFailed", "PermissionError", "AuthenticationError"},
    {CACHE_ERANGE, "OutOfRange", "OverflowError", "OutOfRangeError"},
    {CACHE_EINTERNAL, "InternalError", NULL, "InternalError"},
};
#define UC_NKINDS (sizeof uc_error_kinds / sizeof uc_error_kinds[0])

/* The C status a failed status stands for. */
static int uc_public_status(int status)
{
    if (status == UC_ECLOSED)
        return CACHE_EINVAL;
    if (status == UC_ENOMEM)
        return CACHE_ENOMEM;
    return status;
}

static int uc_kind_index(int status)
{
    status = uc_public_status(status);
    for (size_t i = 0; i < UC_NKINDS; i++)
        if (uc_error_kinds[i].status == status)
            return (int)i;
    return -1;
}

/* The message for a failed status: the C library's words, or ours. */
static const char *uc_message(int status)
{
    if (status == UC_ECLOSED)
        return "invalid argument: the cache is closed";
    if (status == UC_ENOMEM)
        return "out of memory";
    return cache_last_error();
}

/* --------------------------------------------- blocking calls, closing */

/*
 * fn() without the GIL/GVL, so that other threads run while it waits. No
 * unblocking function is given to Ruby: an interrupt waits for the call,
 * which the backend's own timeouts bound.
 */
template <typename F> static int uc_unlocked(F &fn)
{
#ifdef SWIGPYTHON
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fn();
    Py_END_ALLOW_THREADS
    return rc;
#else
    struct Call {
        F *fn;
        int rc;
    } call = {&fn, 0};
    void *(*trampoline)(void *) = [](void *p) -> void * {
        Call *c = static_cast<Call *>(p);
        c->rc = (*c->fn)();
        return NULL;
    };
    rb_thread_call_without_gvl(trampoline, &call, NULL, NULL);
    return call.rc;
#endif
}

static void uc_close_now(struct uc_handle *h)
{
    cache_t *cache = h->cache;
    h->cache = NULL;
    h->closing = 0;
    if (!cache)
        return;
    auto close = [cache] {
        cache_close(cache);
        return CACHE_OK;
    };
    if (h->blocking)
        uc_unlocked(close); /* closing a network/file backend can wait too */
    else
        close();
}

/*
 * Run fn(cache) for the handle. Memory-backend calls keep the GIL/GVL:
 * releasing it doubles the cost of a get and makes threads ping-pong.
 * Every other backend may wait on a socket or a file lock.
 */
template <typename F> static int uc_run(struct uc_handle *h, F fn)
{
    if (!h || !h->cache || h->closing)
        return UC_ECLOSED;
    cache_t *cache = h->cache;
    if (!h->blocking)
        return fn(cache);
    h->busy++;
    auto call = [&] { return fn(cache); };
    int rc = uc_unlocked(call);
    h->busy--;
    if (h->closing && h->busy == 0)
        uc_close_now(h);
    return rc;
}

/* uc_run, but always without the GIL/GVL, even on the memory backend: a
 * lease read may wait (lock_timeout) for another thread's compute, which
 * needs the GIL/GVL to finish. */
template <typename F> static int uc_run_waiting(struct uc_handle *h, F fn)
{
    if (!h || !h->cache || h->closing)
        return UC_ECLOSED;
    cache_t *cache = h->cache;
    h->busy++;
    auto call = [&] { return fn(cache); };
    int rc = uc_unlocked(call);
    h->busy--;
    if (h->closing && h->busy == 0)
        uc_close_now(h);
    return rc;
}

/* Close unless another thread is inside a call; then that call closes. */
static void uc_close(struct uc_handle *h)
{
    if (!h || !h->cache)
        return;
    if (h->busy > 0)
        h->closing = 1;
    else
        uc_close_now(h);
}

/* Fill h->backend from cache_backend_name(), which asks no server: a
 * lazy_connect cache opens at once even when its server is silent. */
static void uc_detect_backend(struct uc_handle *h)
{
    const char *name = cache_backend_name(h->cache);
    if (strlen(name) >= sizeof h->backend)
        name = "unknown";
    strcpy(h->backend, name);
    h->blocking = strcmp(h->backend, "memory") != 0;
}

static int uc_open(const char *uri, const void *prefix, size_t prefix_len, cache_int64 default_ttl,
                   struct uc_handle **out)
{
    cache_options opts = CACHE_OPTIONS_INIT;
    opts.prefix = (const char *)prefix;
    opts.prefix_len = prefix_len;
    opts.default_ttl_ms = default_ttl;
    *out = NULL;
    struct uc_handle *h = (struct uc_handle *)calloc(1, sizeof *h);
    if (!h)
        return UC_ENOMEM;
    auto open = [&] { /* may connect to a server */
        int rc = cache_open_ext(uri, &opts, &h->cache);
        if (rc == CACHE_OK)
            uc_detect_backend(h);
        return rc;
    };
    int rc = uc_unlocked(open);
    if (rc != CACHE_OK) {
        free(h);
        return rc;
    }
    *out = h;
    return CACHE_OK;
}

/* ------------------------------------------------------ JSON fast paths */

/*
 * Both bindings' JSON serializers write and read the common scalar shapes
 * themselves, byte for byte what the languages' json libraries write
 * (compact, UTF-8, no escapes needed): strings, integers, true, false,
 * null. Everything else goes through the language's json library.
 */
enum { UC_JSON_ESCAPES = 0, UC_JSON_ASCII = 1, UC_JSON_UTF8 = 2 };

/* Has one of the 8 bytes of x a value below n (n <= 128)? */
static inline uint64_t uc_bytes_below(uint64_t x, unsigned n)
{
    return (x - 0x0101010101010101ULL * n) & ~x & 0x8080808080808080ULL;
}

/* Has one of the 8 bytes of x the value b? */
static inline uint64_t uc_bytes_equal(uint64_t x, unsigned char b)
{
    return uc_bytes_below(x ^ (0x0101010101010101ULL * b), 1);
}

/*
 * Whether a JSON string's content needs escapes (a control character, '"'
 * or '\\'), and if not, whether it is all ASCII. Eight bytes at a time:
 * this scan and the str it leads to are most of a cached string's decode.
 */
static int uc_json_scan(const char *p, size_t n)
{
    uint64_t special = 0, high = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        special |= uc_bytes_below(w, 0x20) | uc_bytes_equal(w, '"') | uc_bytes_equal(w, '\\');
        high |= w;
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == '"' || ch == '\\')
            return UC_JSON_ESCAPES;
        high |= ch;
    }
    if (special)
        return UC_JSON_ESCAPES;
    return (high & 0x8080808080808080ULL) ? UC_JSON_UTF8 : UC_JSON_ASCII;
}

enum { UC_JSON_OTHER, UC_JSON_STRING, UC_JSON_INT, UC_JSON_NULL, UC_JSON_TRUE, UC_JSON_FALSE };

/* The shape of a stored JSON text, for the decoders' fast paths.
 * UC_JSON_STRING: the content is p[1..n-2] and *kind (UC_JSON_ASCII or
 * UC_JSON_UTF8) says which; UC_JSON_INT: *value holds it (at most 18
 * digits); UC_JSON_OTHER: let the json library read it. */
static int uc_json_shape(const char *p, size_t n, int *kind, long long *value)
{
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        *kind = uc_json_scan(p + 1, n - 2);
        return *kind == UC_JSON_ESCAPES ? UC_JSON_OTHER : UC_JSON_STRING;
    }
    if (n == 4 && memcmp(p, "null", 4) == 0)
        return UC_JSON_NULL;
    if (n == 4 && memcmp(p, "true", 4) == 0)
        return UC_JSON_TRUE;
    if (n == 5 && memcmp(p, "false", 5) == 0)
        return UC_JSON_FALSE;
    /* -?(0|[1-9][0-9]*) */
    size_t i = (n > 0 && p[0] == '-') ? 1 : 0;
    size_t digits = n - i;
    if (digits == 0 || digits > 18 || (p[i] == '0' && digits > 1))
        return UC_JSON_OTHER;
    long long x = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return UC_JSON_OTHER;
        x = x * 10 + (p[i] - '0');
    }
    *value = p[0] == '-' ? -x : x;
    return UC_JSON_INT;
}

#ifdef SWIGPYTHON
#define UC_NIL "None"
#define UC_FOREVER "unicache.FOREVER"
#else
#define UC_NIL "nil"
#define UC_FOREVER "Unicache::FOREVER"
#endif

/* Seconds (as a double) to milliseconds for the C API: > 0, rounded up
 * so that a short TTL never becomes 0 ("never expires"); infinity is
 * "never expires". Returns NULL or the reason the value is refused. */
static const char *uc_seconds_to_ms(double s, cache_int64 *ms)
{
    if (isnan(s))
        return "ttl is NaN; give seconds > 0, " UC_NIL " for the cache's default, or " UC_FOREVER;
    if (isinf(s) && s > 0) {
        *ms = CACHE_TTL_NONE;
        return NULL;
    }
    if (!(s > 0))
        return "ttl must be > 0 seconds; give " UC_NIL " for the cache's default or " UC_FOREVER
               " for no expiry";
    double v = ceil(s * 1000.0);
    if (v > 1e15) /* about 31,700 years: surely a unit mistake */
        return "ttl is too large (more than 10^12 seconds); use " UC_FOREVER " for no expiry";
    *ms = (cache_int64)v;
    return NULL;
}
/* cache_fetch_options from the numbers the lease methods take (-1: the
 * cache's setting). */
static cache_fetch_options uc_fetch_options(long long lease_ttl, long long lock_timeout,
                                            long long stale_ttl, double early_refresh)
{
    cache_fetch_options o = CACHE_FETCH_OPTIONS_INIT;
    o.lease_ttl_ms = lease_ttl;
    o.lock_timeout_ms = lock_timeout;
    o.stale_ttl_ms = stale_ttl;
    o.early_refresh = early_refresh;
    return o;
}
%}

/* =================================================================== Python */
#ifdef SWIGPYTHON
%{
static PyObject *uc_py_errors[UC_NKINDS];
static PyObject *uc_py_cache_error;

/* Raise the exception class of status with message (and .status). NULL. */
static PyObject *uc_py_error(int status, const char *message)
{
    int i = uc_kind_index(status);
    PyObject *cls = i >= 0 ? uc_py_errors[i] : uc_py_cache_error;
    PyObject *exc = PyObject_CallFunction(cls, "s", message);
    if (!exc)
        return NULL;
    PyObject *code = PyLong_FromLong(uc_public_status(status));
    if (code && PyObject_SetAttrString(exc, "status", code) == 0)
        PyErr_SetObject(cls, exc);
    Py_XDECREF(code);
    Py_DECREF(exc);
    return NULL;
}

/* Raise the exception for a failed status. Always returns NULL. */
static PyObject *uc_py_raise(int status)
{
    if (status == UC_ERAISED)
        return NULL;
    return uc_py_error(status, uc_message(status));
}

static PyObject *uc_py_invalid(const char *message) { return uc_py_error(CACHE_EINVAL, message); }

static int uc_py_init_errors(PyObject *module)
{
    PyObject *builtins = PyImport_ImportModule("builtins");
    if (!builtins)
        return -1;
    uc_py_cache_error = PyErr_NewExceptionWithDoc(
        "unicache.CacheError",
        "Base class of every error unicache raises; .status is the C status code.", NULL, NULL);
    if (!uc_py_cache_error || PyModule_AddObjectRef(module, "CacheError", uc_py_cache_error) < 0)
        goto fail;
    for (size_t i = 0; i < UC_NKINDS; i++) {
        const struct uc_error_kind *k = &uc_error_kinds[i];
        PyObject *bases;
        if (k->py_builtin) {
            PyObject *builtin = PyObject_GetAttrString(builtins, k->py_builtin);
            if (!builtin)
                goto fail;
            bases = PyTuple_Pack(2, uc_py_cache_error, builtin);
            Py_DECREF(builtin);
        } else {
            bases = PyTuple_Pack(1, uc_py_cache_error);
        }
        if (!bases)
            goto fail;
        char qualified[64];
        snprintf(qualified, sizeof qualified, "unicache.%s", k->py_name);
        PyObject *dict = Py_BuildValue("{s:i}", "status", k->status);
        uc_py_errors[i] = dict ? PyErr_NewException(qualified, bases, dict) : NULL;
        Py_DECREF(bases);
        Py_XDECREF(dict);
        if (!uc_py_errors[i] || PyModule_AddObjectRef(module, k->py_name, uc_py_errors[i]) < 0)
            goto fail;
    }
    Py_DECREF(builtins);
    return 0;
fail:
    Py_DECREF(builtins);
    return -1;
}

/*
 * Bytes from a Python argument: bytes, bytearray, memoryview (or anything
 * with the buffer protocol) or str. str is UTF-8; for keys, patterns and
 * tags (not values) it is UTF-8 with surrogateescape, so that the str
 * keys() returns for a key that is not valid UTF-8 names that key again.
 */
struct uc_py_in {
    const char *data = NULL;
    size_t size = 0;
    PyObject *owned = NULL; /* a bytes object we created */
    Py_buffer view;
    bool has_view = false;
};

static int uc_py_bytes(PyObject *o, const char *what, bool strict, uc_py_in *in)
{
    if (PyBytes_Check(o)) {
        in->data = PyBytes_AS_STRING(o);
        in->size = (size_t)PyBytes_GET_SIZE(o);
        return 0;
    }
    if (PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(o, &n);
        if (p) {
            in->data = p;
            in->size = (size_t)n;
            return 0;
        }
        if (strict || !PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear();
        in->owned = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
        if (!in->owned)
            return -1;
        in->data = PyBytes_AS_STRING(in->owned);
        in->size = (size_t)PyBytes_GET_SIZE(in->owned);
        return 0;
    }
    if (PyObject_CheckBuffer(o)) {
        if (PyObject_GetBuffer(o, &in->view, PyBUF_SIMPLE) < 0)
            return -1;
        in->has_view = true;
        in->data = (const char *)in->view.buf;
        in->size = (size_t)in->view.len;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s must be str or a bytes-like object, not %.100s", what,
                 Py_TYPE(o)->tp_name);
    return -1;
}

static void uc_py_release(uc_py_in *in)
{
    if (in->has_view)
        PyBuffer_Release(&in->view);
    in->has_view = false;
    Py_CLEAR(in->owned);
}

/* A list of byte strings (any iterable except str/bytes) as cache_slices. */
struct uc_py_list {
    PyObject *seq = NULL;
    uc_py_in *ins = NULL;
    cache_slice *slices = NULL;
    size_t n = 0;
};

static int uc_py_list_from(PyObject *o, const char *what, uc_py_list *l)
{
    if (PyUnicode_Check(o) || PyBytes_Check(o) || PyByteArray_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of keys, not a single %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    char message[96];
    snprintf(message, sizeof message, "%s must be an iterable of str or bytes-like objects",
             what);
    l->seq = PySequence_Fast(o, message);
    if (!l->seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(l->seq);
    l->ins = new (std::nothrow) uc_py_in[n ? n : 1];
    l->slices = (cache_slice *)calloc(n ? (size_t)n : 1, sizeof(cache_slice));
    if (!l->ins || !l->slices) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(l->seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        char item[64];
        snprintf(item, sizeof item, "%s[%zd]", what, i);
        l->n = (size_t)i + 1;
        if (uc_py_bytes(items[i], item, false, &l->ins[i]) < 0)
            return -1;
        l->slices[i].data = l->ins[i].data;
        l->slices[i].size = l->ins[i].size;
    }
    l->n = (size_t)n;
    return 0;
}

static void uc_py_list_release(uc_py_list *l)
{
    for (size_t i = 0; l->ins && i < l->n; i++)
        uc_py_release(&l->ins[i]);
    delete[] l->ins;
    free(l->slices);
    Py_CLEAR(l->seq);
    l->ins = NULL;
    l->slices = NULL;
    l->n = 0;
}

/* ttl: None -> the cache's default, seconds (int, float, or anything with
 * total_seconds() such as timedelta) > 0, or FOREVER (math.inf). */
static int uc_py_ttl(PyObject *o, cache_int64 *ms)
{
    if (o == Py_None) {
        *ms = CACHE_TTL_DEFAULT;
        return 0;
    }
    double s;
    if (PyBool_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "ttl must be a number of seconds, None or FOREVER, "
                                         "not bool");
        return -1;
    }
    if (PyFloat_Check(o)) {
        s = PyFloat_AS_DOUBLE(o);
    } else if (PyLong_Check(o)) {
        s = PyLong_AsDouble(o);
        if (s == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            uc_py_invalid("invalid argument: ttl is too large; use " UC_FOREVER " for no expiry");
            return -1;
        }
    } else if (PyObject_HasAttrString(o, "total_seconds")) {
        PyObject *r = PyObject_CallMethod(o, "total_seconds", NULL);
        if (!r)
            return -1;
        s = PyFloat_AsDouble(r);
        Py_DECREF(r);
        if (s == -1.0 && PyErr_Occurred())
            return -1;
    } else {
        PyErr_Format(PyExc_TypeError,
                     "ttl must be a number of seconds, a timedelta, None or FOREVER, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    const char *why = uc_seconds_to_ms(s, ms);
    if (why) {
        char message[160];
        snprintf(message, sizeof message, "invalid argument: %s", why);
        uc_py_invalid(message);
        return -1;
    }
    return 0;
}

static PyObject *uc_py_seconds(cache_int64 ms)
{
    if (ms < 0)
        return PyFloat_FromDouble(Py_HUGE_VAL);
    return PyFloat_FromDouble((double)ms / 1000.0);
}

/* ----------------------------------------------------------- JSON codec */

/*
 * The JSON serializer's common cases done here, byte-for-byte what
 * json.dumps(v, ensure_ascii=False, separators=(",", ":")) writes: str
 * without characters that need escaping, int, float, True, False, None.
 * Decoding takes the same shapes. Everything else goes through the json
 * module. Returns a new reference, or NULL (no error set) for "not mine".
 */
static PyObject *uc_json_fast_dumps(PyObject *v)
{
    if (v == Py_None)
        return PyBytes_FromStringAndSize("null", 4);
    if (v == Py_True)
        return PyBytes_FromStringAndSize("true", 4);
    if (v == Py_False)
        return PyBytes_FromStringAndSize("false", 5);
    if (PyUnicode_CheckExact(v)) {
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(v, &n);
        if (!p) {
            PyErr_Clear(); /* the json module reports it */
            return NULL;
        }
        if (uc_json_scan(p, (size_t)n) == UC_JSON_ESCAPES)
            return NULL;
        PyObject *b = PyBytes_FromStringAndSize(NULL, n + 2);
        if (!b)
            return NULL;
        char *out = PyBytes_AS_STRING(b);
        out[0] = '"';
        memcpy(out + 1, p, (size_t)n);
        out[n + 1] = '"';
        return b;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return NULL;
        }
        char text[24];
        int len = snprintf(text, sizeof text, "%lld", x);
        return PyBytes_FromStringAndSize(text, len);
    }
    if (PyFloat_CheckExact(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        if (!isfinite(d))
            return NULL; /* the json module refuses it (allow_nan=False) */
        char *text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (!text)
            return NULL;
        PyObject *b = PyBytes_FromString(text);
        PyMem_Free(text);
        return b;
    }
    return NULL;
}

static PyObject *uc_json_fast_loads(const char *p, size_t n)
{
    int kind = 0;
    long long x = 0;
    switch (uc_json_shape(p, n, &kind, &x)) {
    case UC_JSON_STRING:
        if (kind == UC_JSON_ASCII) {
            PyObject *s = PyUnicode_New((Py_ssize_t)(n - 2), 127);
            if (s)
                memcpy(PyUnicode_1BYTE_DATA(s), p + 1, n - 2);
            return s;
        }
        return PyUnicode_DecodeUTF8(p + 1, (Py_ssize_t)(n - 2), "strict");
    case UC_JSON_INT:
        return PyLong_FromLongLong(x);
    case UC_JSON_NULL:
        Py_RETURN_NONE;
    case UC_JSON_TRUE:
        Py_RETURN_TRUE;
    case UC_JSON_FALSE:
        Py_RETURN_FALSE;
    default:
        return NULL;
    }
}

/* value -> bytes to store, by the handle's codec. New reference or NULL. */
static PyObject *uc_py_dumps(struct uc_handle *h, PyObject *value)
{
    PyObject *out;
    switch (h->codec) {
    case UC_CODEC_JSON:
        out = uc_json_fast_dumps(value);
        if (out || PyErr_Occurred())
            return out;
        {
            PyObject *text = PyObject_CallOneArg(h->dumps, value);
            if (!text)
                return NULL;
            out = PyUnicode_Check(text) ? PyUnicode_AsUTF8String(text) : NULL;
            if (!out && !PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "the JSON encoder did not return str");
            Py_DECREF(text);
            return out;
        }
    case UC_CODEC_OBJECT:
        out = PyObject_CallOneArg(h->dumps, value);
        if (out && !PyBytes_Check(out) && !PyUnicode_Check(out) && !PyObject_CheckBuffer(out)) {
            PyErr_Format(PyExc_TypeError,
                         "the serializer's dumps() returned %.100s; it must return bytes",
                         Py_TYPE(out)->tp_name);
            Py_CLEAR(out);
        }
        return out;
    default: /* raw: stored as given; the value typemap checks the type */
        Py_INCREF(value);
        return value;
    }
}

/* stored bytes -> value, by the handle's codec. New reference or NULL. */
static PyObject *uc_py_loads(struct uc_handle *h, const char *p, size_t n)
{
    PyObject *out, *arg;
    switch (h->codec) {
    case UC_CODEC_JSON:
        out = uc_json_fast_loads(p, n);
        if (out || PyErr_Occurred())
            return out;
        arg = PyUnicode_DecodeUTF8(p, (Py_ssize_t)n, "strict");
        break;
    case UC_CODEC_OBJECT:
        arg = PyBytes_FromStringAndSize(p, (Py_ssize_t)n);
        break;
    default:
        return PyBytes_FromStringAndSize(p, (Py_ssize_t)n);
    }
    if (!arg)
        return NULL;
    out = PyObject_CallOneArg(h->loads, arg);
    Py_DECREF(arg);
    return out;
}

/* A get: the value, or dflt on a miss; KeyError(key) when dflt is NULL. */
static PyObject *uc_py_get(struct uc_handle *h, PyObject *key, PyObject *dflt)
{
    uc_py_in in;
    if (uc_py_bytes(key, "key", false, &in) < 0)
        return NULL;
    /* Memory-backend values that fit this buffer come without the malloc
     * and free of a cache_buf; longer ones, and every other backend's (whose
     * get_into is a get plus a copy), take cache_get. */
    char local[512];
    size_t n = 0;
    int rc = CACHE_ETOOBIG;
    if (h && !h->blocking)
        rc = uc_run(h, [&](cache_t *c) {
            return cache_get_into(c, in.data, in.size, local, sizeof local, &n);
        });
    if (rc == CACHE_OK) {
        uc_py_release(&in);
        return uc_py_loads(h, local, n);
    }
    cache_buf buf = {NULL, 0};
    if (rc == CACHE_ETOOBIG)
        rc = uc_run(h, [&](cache_t *c) { return cache_get(c, in.data, in.size, &buf); });
    uc_py_release(&in);
    if (rc == CACHE_OK) {
        PyObject *v = uc_py_loads(h, (const char *)buf.data, buf.size);
        cache_buf_free(&buf);
        return v;
    }
    if (rc == CACHE_MISS) {
        if (dflt)
            return Py_NewRef(dflt);
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return uc_py_raise(rc);
}

static PyObject *uc_py_text(const void *p, size_t n)
{
    return PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)n, "surrogateescape");
}
%}

%{
/*
 * Log lines (cache_set_log_handler) to a Python callable(level, message).
 * The library calls the handler at the end of an API call or from its own
 * background threads, with or without the GIL: the trampoline takes it
 * (PyGILState_Ensure works both ways) and never calls into an interpreter
 * that is finalizing (the Python layer also turns logging off at exit).
 */
static PyObject *uc_py_log_target; /* strong reference, or NULL */

static void uc_py_log_trampoline(void *ctx, int level, const char *message)
{
    (void)ctx;
#if PY_VERSION_HEX >= 0x030D0000
    if (!Py_IsInitialized() || Py_IsFinalizing())
#else
    if (!Py_IsInitialized() || _Py_IsFinalizing())
#endif
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *target = uc_py_log_target;
    if (target) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb); /* a pending exception survives the call */
        Py_INCREF(target);
        PyObject *text = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
        PyObject *r = text ? PyObject_CallFunction(target, "iO", level, text) : NULL;
        if (!r)
            PyErr_WriteUnraisable(target);
        Py_XDECREF(r);
        Py_XDECREF(text);
        Py_DECREF(target);
        PyErr_Restore(type, value, tb);
    }
    PyGILState_Release(gil);
}

/* _set_log_handler(callable or None, min_level): the C levels (1 error ..
 * 4 debug); None or min_level 0 turns logging off. */
static PyObject *uc_py_set_log_handler(PyObject *target, int min_level)
{
    if (target != Py_None && !PyCallable_Check(target))
        return uc_py_error(CACHE_EINVAL, "the log handler must be callable or None");
    if (min_level < 0 || min_level > CACHE_LOG_DEBUG)
        return uc_py_error(CACHE_EINVAL, "min_level must be 0 (off) to 4 (debug)");
    PyObject *old = uc_py_log_target;
    int off = target == Py_None || min_level == 0;
    if (!off)
        Py_INCREF(target);
    uc_py_log_target = off ? NULL : target;
    /* Without the GIL: cache_set_log_handler waits for deliveries running
     * in other threads, and their trampolines may be waiting for the GIL. */
    Py_BEGIN_ALLOW_THREADS
    cache_set_log_handler(off ? NULL : uc_py_log_trampoline, NULL, off ? 0 : min_level);
    Py_END_ALLOW_THREADS
    /* A trampoline takes its own reference under the GIL, so the old
     * target may go now. */
    Py_XDECREF(old);
    Py_RETURN_NONE;
}
%}

%rename(_set_log_handler) uc_py_set_log_handler;
PyObject *uc_py_set_log_handler(PyObject *target, int min_level);

%wrapper %{
/* get(key, default=None) with METH_FASTCALL: no argument tuple, no
 * keyword parsing; ~25% of a memory-backend hit. Installed over the
 * SWIG-generated wrapper of the same method in %init below. */
static PyObject *uc_py_get_fastcall(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "get() takes 1 or 2 arguments (%zd given)", nargs);
        return NULL;
    }
    struct uc_handle *h = (struct uc_handle *)((SwigPyObject *)self)->ptr;
    return uc_py_get(h, args[0], nargs == 2 ? args[1] : Py_None);
}
%}

%init %{
    for (PyMethodDef *def = SwigPyBuiltin__uc_handle_methods; def->ml_name; def++) {
        if (strcmp(def->ml_name, "get") == 0) {
            def->ml_meth = (PyCFunction)(void (*)(void))uc_py_get_fastcall;
            def->ml_flags = METH_FASTCALL;
        }
        /* SWIG starts docstrings with a newline; a text signature must
         * start the docstring. */
        if (def->ml_doc && def->ml_doc[0] == '\n')
            def->ml_doc++;
    }
    if (uc_py_init_errors(m) < 0)
        return NULL;
    PyObject *forever = PyFloat_FromDouble(Py_HUGE_VAL);
    if (!forever || PyModule_AddObjectRef(m, "FOREVER", forever) < 0) {
        Py_XDECREF(forever);
        return NULL;
    }
    Py_DECREF(forever);
%}

%feature("kwargs");

/* Status: errors raise, CACHE_OK -> True, CACHE_MISS -> False. */
%typemap(out) uc_status {
    if ($1 < 0) {
        uc_py_raise($1);
        SWIG_fail;
    }
    $result = PyBool_FromLong($1 == CACHE_OK);
}

/* Keys, patterns, tags, prefixes: str (UTF-8) or bytes-like. */
%typemap(in) (const void *BYTES, size_t LEN) (uc_py_in in_bytes) {
    if (uc_py_bytes($input, "$1_name", false, &in_bytes) < 0)
        SWIG_fail;
    $1 = (void *)in_bytes.data;
    $2 = in_bytes.size;
}
%typemap(freearg) (const void *BYTES, size_t LEN) {
    uc_py_release(&in_bytes$argnum);
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) (const void *BYTES, size_t LEN) {
    $1 = PyUnicode_Check($input) || PyObject_CheckBuffer($input);
}

/* Values: the same, but str must be valid UTF-8 (no surrogates). */
%typemap(in) (const void *value, size_t value_len) (uc_py_in in_bytes) {
    if (uc_py_bytes($input, "value", true, &in_bytes) < 0)
        SWIG_fail;
    $1 = (void *)in_bytes.data;
    $2 = in_bytes.size;
}

/* An optional prefix: None or like a key. */
%typemap(in) (const void *prefix, size_t prefix_len) (uc_py_in in_bytes) {
    if ($input != Py_None) {
        if (uc_py_bytes($input, "prefix", false, &in_bytes) < 0)
            SWIG_fail;
    }
    $1 = $input == Py_None ? NULL : (void *)in_bytes.data;
    $2 = in_bytes.size;
}
/* Named typemaps need their own freearg: the generic one does not apply. */
%typemap(freearg) (const void *value, size_t value_len), (const void *prefix, size_t prefix_len) {
    uc_py_release(&in_bytes$argnum);
}

/* A URI: str or None (None: $UNICACHE_URL, else memory://). */
%typemap(in) const char *uri {
    if ($input == Py_None) {
        $1 = NULL;
    } else if (PyUnicode_Check($input)) {
        Py_ssize_t n;
        $1 = (char *)PyUnicode_AsUTF8AndSize($input, &n);
        if (!$1)
            SWIG_fail;
        if (strlen($1) != (size_t)n) {
            uc_py_invalid("invalid argument: the URI contains a NUL character");
            SWIG_fail;
        }
    } else {
        PyErr_Format(PyExc_TypeError, "uri must be str or None, not %.100s",
                     Py_TYPE($input)->tp_name);
        SWIG_fail;
    }
}

/* Lists of keys or tags: any iterable of str/bytes-like (not one str). */
%typemap(in) (const cache_slice *LIST, size_t N) (uc_py_list in_list) {
    if (uc_py_list_from($input, "$1_name", &in_list) < 0)
        SWIG_fail;
    $1 = in_list.slices;
    $2 = in_list.n;
}
%typemap(freearg) (const cache_slice *LIST, size_t N) {
    uc_py_list_release(&in_list$argnum);
}

%typemap(in) uc_ttl {
    if (uc_py_ttl($input, &$1) < 0)
        SWIG_fail;
}

/* cache_int64 counts: Python int; too big is OverflowError, float TypeError. */
%typemap(in) cache_int64 delta {
    if (PyFloat_Check($input)) {
        PyErr_Format(PyExc_TypeError, "delta must be int, not float");
        SWIG_fail;
    }
    $1 = PyLong_AsLongLong($input);
    if ($1 == -1 && PyErr_Occurred())
        SWIG_fail;
}
%typemap(in) cache_int64 unix_ms {
    $1 = PyLong_AsLongLong($input);
    if ($1 == -1 && PyErr_Occurred())
        SWIG_fail;
}
%typemap(in) size_t limit {
    $1 = PyLong_AsSize_t($input);
    if ($1 == (size_t)-1 && PyErr_Occurred())
        SWIG_fail;
}

/* Out-parameters. The argouts replace the status' True/False. */
%typemap(in, numinputs=0) cache_buf *value_out (cache_buf buf), cache_buf *text_out (cache_buf buf) {
    buf.data = NULL;
    buf.size = 0;
    $1 = &buf;
}
%typemap(argout) cache_buf *value_out {
    Py_DECREF($result);
    if (result == CACHE_OK) {
        $result = PyBytes_FromStringAndSize((const char *)$1->data, (Py_ssize_t)$1->size);
        if (!$result)
            SWIG_fail;
    } else {
        $result = Py_NewRef(Py_None);
    }
}
%typemap(argout) cache_buf *text_out {
    Py_DECREF($result);
    $result = uc_py_text($1->data, $1->size);
    if (!$result)
        SWIG_fail;
}
%typemap(freearg) cache_buf *value_out, cache_buf *text_out {
    cache_buf_free($1);
}

%typemap(in, numinputs=0) cache_buf_array *keys_out (cache_buf_array arr) {
    arr.items = NULL;
    arr.count = 0;
    $1 = &arr;
}
%typemap(argout) cache_buf_array *keys_out {
    Py_DECREF($result);
    $result = PyList_New((Py_ssize_t)$1->count);
    if (!$result)
        SWIG_fail;
    for (size_t i = 0; i < $1->count; i++) {
        PyObject *k = uc_py_text($1->items[i].data, $1->items[i].size);
        if (!k)
            SWIG_fail;
        PyList_SET_ITEM($result, (Py_ssize_t)i, k);
    }
}
%typemap(freearg) cache_buf_array *keys_out {
    cache_buf_array_free($1);
}

%typemap(in, numinputs=0) cache_int64 *int_out (cache_int64 v), cache_int64 *ttl_out (cache_int64 v),
                          size_t *count_out (size_t v) {
    v = 0;
    $1 = &v;
}
%typemap(argout) cache_int64 *int_out {
    Py_DECREF($result);
    $result = PyLong_FromLongLong(*$1);
}
%typemap(argout) size_t *count_out {
    Py_DECREF($result);
    $result = PyLong_FromSize_t(*$1);
}
%typemap(argout) cache_int64 *ttl_out {
    Py_DECREF($result);
    $result = result == CACHE_OK ? uc_py_seconds(*$1) : Py_NewRef(Py_None);
}
/* incr_ext: the new value, or None when the key was absent (CACHE_MISS). */
%typemap(in, numinputs=0) cache_int64 *counter_out (cache_int64 v) {
    v = 0;
    $1 = &v;
}
%typemap(argout) cache_int64 *counter_out {
    Py_DECREF($result);
    $result = result == CACHE_OK ? PyLong_FromLongLong(*$1) : Py_NewRef(Py_None);
}

/* get_many: a list of bytes (hit) or None (miss), one per key. */
%typemap(in) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out)
    (uc_py_list in_list, cache_buf *bufs = NULL, int *statuses = NULL) {
    if (uc_py_list_from($input, "keys", &in_list) < 0)
        SWIG_fail;
    bufs = (cache_buf *)calloc(in_list.n ? in_list.n : 1, sizeof *bufs);
    statuses = (int *)calloc(in_list.n ? in_list.n : 1, sizeof *statuses);
    if (!bufs || !statuses) {
        PyErr_NoMemory();
        SWIG_fail;
    }
    $1 = in_list.slices;
    $2 = in_list.n;
    $3 = bufs;
    $4 = statuses;
}
%typemap(argout) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out) {
    Py_DECREF($result);
    $result = PyList_New((Py_ssize_t)$2);
    if (!$result)
        SWIG_fail;
    for (size_t i = 0; i < $2; i++) {
        PyObject *v = $4[i] == CACHE_OK
                          ? PyBytes_FromStringAndSize((const char *)$3[i].data,
                                                      (Py_ssize_t)$3[i].size)
                          : Py_NewRef(Py_None);
        if (!v)
            SWIG_fail;
        PyList_SET_ITEM($result, (Py_ssize_t)i, v);
    }
}
%typemap(freearg) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out) {
    for (size_t i = 0; bufs$argnum && i < in_list$argnum.n; i++)
        cache_buf_free(&bufs$argnum[i]);
    free(bufs$argnum);
    free(statuses$argnum);
    uc_py_list_release(&in_list$argnum);
}

%exception uc_handle::uc_handle {
    $action
    if (!result)
        SWIG_fail;
}
#endif /* SWIGPYTHON */

/* ===================================================================== Ruby */
#ifdef SWIGRUBY
%{
static VALUE uc_rb_errors[UC_NKINDS];
static VALUE uc_rb_error_class;

/* Raise the exception class of status with message (and #status). */
static void uc_rb_error(int status, const char *message)
{
    int i = uc_kind_index(status);
    VALUE cls = i >= 0 ? uc_rb_errors[i] : uc_rb_error_class;
    VALUE exc = rb_exc_new_str(cls, rb_utf8_str_new_cstr(message));
    rb_iv_set(exc, "@status", INT2NUM(uc_public_status(status)));
    rb_exc_raise(exc);
}

static void uc_rb_raise(int status) { uc_rb_error(status, uc_message(status)); }

static void uc_rb_invalid(const char *message) { uc_rb_error(CACHE_EINVAL, message); }

static void uc_rb_init_errors(void)
{
    VALUE top = rb_define_module("Unicache");
    uc_rb_error_class = rb_define_class_under(top, "Error", rb_eStandardError);
    rb_define_attr(uc_rb_error_class, "status", 1, 0);
    for (size_t i = 0; i < UC_NKINDS; i++) {
        uc_rb_errors[i] = rb_define_class_under(top, uc_error_kinds[i].rb_name, uc_rb_error_class);
        rb_define_const(uc_rb_errors[i], "STATUS", INT2NUM(uc_error_kinds[i].status));
    }
}

/*
 * A String for a key, pattern or value: String, Symbol, or anything with
 * to_str. The result is frozen (a cheap shared copy of an unfrozen
 * string) so that its bytes stay put while the GVL is released, even if
 * another thread appends to the caller's string meanwhile.
 */
static VALUE uc_rb_bytes(VALUE v, const char *what)
{
    if (RB_TYPE_P(v, T_SYMBOL))
        return rb_sym2str(v);
    VALUE s = rb_check_string_type(v);
    if (NIL_P(s))
        rb_raise(rb_eTypeError, "%s must be a String, not %s", what, rb_obj_classname(v));
    return OBJ_FROZEN(s) ? s : rb_str_new_frozen(s);
}

/* ttl: nil -> the cache's default, Integer/Float seconds > 0, or
 * Float::INFINITY (Unicache::FOREVER) for never. */
static cache_int64 uc_rb_ttl(VALUE v)
{
    if (NIL_P(v))
        return CACHE_TTL_DEFAULT;
    if (!RB_INTEGER_TYPE_P(v) && !RB_FLOAT_TYPE_P(v) && !rb_obj_is_kind_of(v, rb_cNumeric))
        rb_raise(rb_eTypeError, "ttl must be a Numeric number of seconds, nil or FOREVER, not %s",
                 rb_obj_classname(v));
    cache_int64 ms = 0;
    const char *why = uc_seconds_to_ms(NUM2DBL(v), &ms);
    if (why) {
        char message[160];
        snprintf(message, sizeof message, "invalid argument: %s", why);
        uc_rb_invalid(message);
    }
    return ms;
}

static VALUE uc_rb_seconds(cache_int64 ms)
{
    return DBL2NUM(ms < 0 ? HUGE_VAL : (double)ms / 1000.0);
}

static VALUE uc_rb_text(const void *p, size_t n)
{
    VALUE s = rb_utf8_str_new((const char *)p, (long)n);
    if (rb_enc_str_coderange(s) == ENC_CODERANGE_BROKEN)
        rb_enc_associate(s, rb_ascii8bit_encoding());
    return s;
}

/* A Ruby Array of keys as an Array of frozen Strings (see uc_rb_bytes),
 * which keeps them alive and in place while the call runs. */
static VALUE uc_rb_list(VALUE v, const char *what)
{
    VALUE ary = rb_check_array_type(v);
    if (NIL_P(ary))
        rb_raise(rb_eTypeError, "%s must be an Array, not %s", what, rb_obj_classname(v));
    long len = RARRAY_LEN(ary);
    VALUE keep = rb_ary_new_capa(len);
    for (long i = 0; i < len; i++) {
        char item[64];
        snprintf(item, sizeof item, "%s[%ld]", what, i);
        rb_ary_push(keep, uc_rb_bytes(RARRAY_AREF(ary, i), item));
    }
    return keep;
}

static void uc_rb_slices(VALUE keep, cache_slice *slices)
{
    for (long i = 0; i < RARRAY_LEN(keep); i++) {
        VALUE s = RARRAY_AREF(keep, i);
        slices[i].data = RSTRING_PTR(s);
        slices[i].size = (size_t)RSTRING_LEN(s);
    }
}

/* ----------------------------------------------------------- JSON codec */

static VALUE uc_rb_json(void) { return rb_path2class("JSON"); }

/* Unicache::Native.json_load(string): JSON.parse, with the scalar shapes
 * (see uc_json_shape) read here. */
static VALUE uc_rb_json_load(VALUE data)
{
    StringValue(data);
    const char *p = RSTRING_PTR(data);
    size_t n = (size_t)RSTRING_LEN(data);
    int kind = 0;
    long long x = 0;
    switch (uc_json_shape(p, n, &kind, &x)) {
    case UC_JSON_STRING:
        if (kind == UC_JSON_ASCII)
            return rb_utf8_str_new(p + 1, (long)(n - 2));
        break; /* JSON.parse checks the UTF-8 */
    case UC_JSON_INT:
        return LL2NUM(x);
    case UC_JSON_NULL:
        return Qnil;
    case UC_JSON_TRUE:
        return Qtrue;
    case UC_JSON_FALSE:
        return Qfalse;
    default:
        break;
    }
    VALUE text = rb_str_dup(data);
    rb_enc_associate(text, rb_utf8_encoding());
    return rb_funcall(uc_rb_json(), rb_intern("parse"), 1, text);
}

/* Unicache::Native.json_dump(value): JSON.generate, with nil, true, false,
 * Integers that fit a long, and UTF-8/ASCII Strings without characters to
 * escape written here. */
static VALUE uc_rb_json_dump(VALUE value)
{
    if (NIL_P(value))
        return rb_utf8_str_new("null", 4);
    if (value == Qtrue)
        return rb_utf8_str_new("true", 4);
    if (value == Qfalse)
        return rb_utf8_str_new("false", 5);
    if (RB_FIXNUM_P(value)) {
        char text[24];
        int len = snprintf(text, sizeof text, "%ld", FIX2LONG(value));
        return rb_utf8_str_new(text, len);
    }
    if (RB_TYPE_P(value, T_STRING)) {
        int enc = rb_enc_get_index(value);
        int range = rb_enc_str_coderange(value);
        bool text = (enc == rb_utf8_encindex() || enc == rb_usascii_encindex()) &&
                    (range == ENC_CODERANGE_7BIT || range == ENC_CODERANGE_VALID);
        long n = RSTRING_LEN(value);
        if (text && uc_json_scan(RSTRING_PTR(value), (size_t)n) != UC_JSON_ESCAPES) {
            VALUE out = rb_utf8_str_new(NULL, n + 2);
            char *q = RSTRING_PTR(out);
            q[0] = '"';
            memcpy(q + 1, RSTRING_PTR(value), (size_t)n);
            q[n + 1] = '"';
            return out;
        }
    }
    return rb_funcall(uc_rb_json(), rb_intern("generate"), 1, value);
}
%}

%{
/*
 * Log lines for Ruby. The library may deliver from threads Ruby does not
 * know (the Redis invalidation watcher), where no Ruby code may run, so
 * the handler only queues the line; a Ruby thread (lib/unicache/log.rb)
 * takes lines with log_take, waiting without the GVL.
 */
#include <pthread.h>
#include <time.h>
#include <deque>
#include <string>
#include <utility>

static pthread_mutex_t uc_rb_log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t uc_rb_log_cv = PTHREAD_COND_INITIALIZER;
static std::deque<std::pair<int, std::string> > *uc_rb_log_queue;
static size_t uc_rb_log_dropped;
static int uc_rb_log_interrupted;
static const size_t uc_rb_log_max = 10000;

/* A child starts with no other threads: nobody holds the lock there. */
static void uc_rb_log_after_fork(void)
{
    pthread_mutex_init(&uc_rb_log_mu, NULL);
    pthread_cond_init(&uc_rb_log_cv, NULL);
}

static void uc_rb_log_handler(void *ctx, int level, const char *message)
{
    (void)ctx;
    pthread_mutex_lock(&uc_rb_log_mu);
    try {
        if (uc_rb_log_queue->size() < uc_rb_log_max)
            uc_rb_log_queue->push_back(std::make_pair(level, std::string(message)));
        else
            uc_rb_log_dropped++;
    } catch (...) {
        uc_rb_log_dropped++;
    }
    pthread_cond_signal(&uc_rb_log_cv);
    pthread_mutex_unlock(&uc_rb_log_mu);
}

struct uc_rb_log_wait {
    double timeout_s;
    int have;
    int level;
    std::string text;
};

static void *uc_rb_log_wait_fn(void *p)
{
    struct uc_rb_log_wait *w = (struct uc_rb_log_wait *)p;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double whole = floor(w->timeout_s);
    until.tv_sec += (time_t)whole;
    until.tv_nsec += (long)((w->timeout_s - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&uc_rb_log_mu);
    while (uc_rb_log_queue->empty() && !uc_rb_log_dropped && !uc_rb_log_interrupted)
        if (pthread_cond_timedwait(&uc_rb_log_cv, &uc_rb_log_mu, &until) != 0)
            break;
    uc_rb_log_interrupted = 0;
    if (!uc_rb_log_queue->empty()) {
        w->have = 1;
        w->level = uc_rb_log_queue->front().first;
        w->text.swap(uc_rb_log_queue->front().second);
        uc_rb_log_queue->pop_front();
    } else if (uc_rb_log_dropped) {
        w->have = 1;
        w->level = CACHE_LOG_WARN;
        w->text = std::to_string(uc_rb_log_dropped) +
                  " log lines were dropped (the Ruby logger thread fell behind)";
        uc_rb_log_dropped = 0;
    }
    pthread_mutex_unlock(&uc_rb_log_mu);
    return NULL;
}

static void uc_rb_log_unblock(void *p)
{
    (void)p;
    pthread_mutex_lock(&uc_rb_log_mu);
    uc_rb_log_interrupted = 1;
    pthread_cond_broadcast(&uc_rb_log_cv);
    pthread_mutex_unlock(&uc_rb_log_mu);
}

/* log_enable(min_level): 0 turns logging off, 1 (error) to 4 (debug). */
static VALUE uc_rb_log_enable(int min_level)
{
    if (min_level < 0 || min_level > CACHE_LOG_DEBUG)
        uc_rb_invalid("min_level must be 0 (off) to 4 (debug)");
    cache_set_log_handler(min_level ? uc_rb_log_handler : NULL, NULL, min_level);
    return Qnil;
}

/* log_take(timeout_s): the next [level, message], or nil after timeout_s
 * seconds (or an interrupt) without one. Waits without the GVL. */
static VALUE uc_rb_log_take(double timeout_s)
{
    if (!(timeout_s >= 0) || timeout_s > 86400)
        uc_rb_invalid("timeout must be 0 to 86400 seconds");
    struct uc_rb_log_wait w;
    w.timeout_s = timeout_s;
    w.have = 0;
    w.level = 0;
    rb_thread_call_without_gvl(uc_rb_log_wait_fn, &w, uc_rb_log_unblock, NULL);
    if (!w.have)
        return Qnil;
    return rb_ary_new_from_args(2, INT2NUM(w.level),
                                rb_utf8_str_new(w.text.data(), (long)w.text.size()));
}
%}

%rename(log_enable) uc_rb_log_enable;
%rename(log_take) uc_rb_log_take;
VALUE uc_rb_log_enable(int min_level);
VALUE uc_rb_log_take(double timeout_s);

%rename(json_load) uc_rb_json_load;
%rename(json_dump) uc_rb_json_dump;
VALUE uc_rb_json_load(VALUE data);
VALUE uc_rb_json_dump(VALUE value);

%init %{
    uc_rb_init_errors();
    uc_rb_log_queue = new std::deque<std::pair<int, std::string> >();
    pthread_atfork(NULL, NULL, uc_rb_log_after_fork);
    rb_define_const(rb_define_module("Unicache"), "FOREVER", DBL2NUM(HUGE_VAL));
%}

/* Status: the out typemap answers true/false; errors raise in "ret",
 * after every freearg has run, so that nothing leaks. */
%typemap(out) uc_status {
    $result = $1 == CACHE_OK ? Qtrue : Qfalse;
}
%typemap(ret) uc_status {
    if (result < 0)
        uc_rb_raise(result);
}

%typemap(in) (const void *BYTES, size_t LEN) (volatile VALUE keep = Qnil) {
    keep = uc_rb_bytes($input, "$1_name");
    $1 = (void *)RSTRING_PTR(keep);
    $2 = (size_t)RSTRING_LEN(keep);
}
%typemap(in) (const void *prefix, size_t prefix_len) (volatile VALUE keep = Qnil) {
    if (NIL_P($input)) {
        $1 = NULL;
        $2 = 0;
    } else {
        keep = uc_rb_bytes($input, "prefix");
        $1 = (void *)RSTRING_PTR(keep);
        $2 = (size_t)RSTRING_LEN(keep);
    }
}
%typemap(in) const char *uri (volatile VALUE keep = Qnil) {
    if (NIL_P($input)) {
        $1 = NULL;
    } else {
        if (!RB_TYPE_P($input, T_STRING))
            rb_raise(rb_eTypeError, "uri must be a String or nil, not %s",
                     rb_obj_classname($input));
        keep = rb_str_new_frozen($input);
        if (memchr(RSTRING_PTR(keep), 0, (size_t)RSTRING_LEN(keep)))
            uc_rb_invalid("invalid argument: the URI contains a NUL character");
        $1 = (char *)StringValueCStr(keep);
    }
}

%typemap(in) (const cache_slice *LIST, size_t N) (volatile VALUE keep = Qnil, VALUE store = 0) {
    /* ALLOCV: Ruby-managed memory, so a later argument that raises
     * (longjmp) leaks nothing; ALLOCV_END frees it on the normal path. */
    keep = uc_rb_list($input, "$1_name");
    $2 = (size_t)RARRAY_LEN(keep);
    $1 = ALLOCV_N(cache_slice, store, $2 ? $2 : 1);
    uc_rb_slices(keep, $1);
}
%typemap(freearg) (const cache_slice *LIST, size_t N) {
    ALLOCV_END(store$argnum);
}

%typemap(in) uc_ttl {
    $1 = uc_rb_ttl($input);
}
%typemap(in) cache_int64 delta, cache_int64 unix_ms {
    if (!RB_INTEGER_TYPE_P($input))
        rb_raise(rb_eTypeError, "$1_name must be an Integer, not %s", rb_obj_classname($input));
    $1 = NUM2LL($input);
}
%typemap(in) size_t limit {
    if (!RB_INTEGER_TYPE_P($input))
        rb_raise(rb_eTypeError, "limit must be an Integer, not %s", rb_obj_classname($input));
    $1 = NUM2SIZET($input);
}

%typemap(in, numinputs=0) cache_buf *value_out (cache_buf buf), cache_buf *text_out (cache_buf buf) {
    buf.data = NULL;
    buf.size = 0;
    $1 = &buf;
}
%typemap(argout) cache_buf *value_out {
    $result = result == CACHE_OK ? rb_str_new((const char *)$1->data, (long)$1->size) : Qnil;
}
%typemap(argout) cache_buf *text_out {
    $result = uc_rb_text($1->data, $1->size);
}
%typemap(freearg) cache_buf *value_out, cache_buf *text_out {
    cache_buf_free($1);
}

%typemap(in, numinputs=0) cache_buf_array *keys_out (cache_buf_array arr) {
    arr.items = NULL;
    arr.count = 0;
    $1 = &arr;
}
%typemap(argout) cache_buf_array *keys_out {
    $result = rb_ary_new_capa((long)$1->count);
    for (size_t i = 0; i < $1->count; i++)
        rb_ary_push($result, uc_rb_text($1->items[i].data, $1->items[i].size));
}
%typemap(freearg) cache_buf_array *keys_out {
    cache_buf_array_free($1);
}

%typemap(in, numinputs=0) cache_int64 *int_out (cache_int64 v), cache_int64 *ttl_out (cache_int64 v),
                          size_t *count_out (size_t v) {
    v = 0;
    $1 = &v;
}
%typemap(argout) cache_int64 *int_out {
    $result = LL2NUM(*$1);
}
%typemap(argout) size_t *count_out {
    $result = SIZET2NUM(*$1);
}
%typemap(argout) cache_int64 *ttl_out {
    $result = result == CACHE_OK ? uc_rb_seconds(*$1) : Qnil;
}
%typemap(in, numinputs=0) cache_int64 *counter_out (cache_int64 v) {
    v = 0;
    $1 = &v;
}
%typemap(argout) cache_int64 *counter_out {
    $result = result == CACHE_OK ? LL2NUM(*$1) : Qnil;
}

%typemap(in) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out)
    (volatile VALUE keep = Qnil, VALUE store = 0, VALUE bufs_store = 0, VALUE statuses_store = 0) {
    keep = uc_rb_list($input, "keys");
    $2 = (size_t)RARRAY_LEN(keep);
    $1 = ALLOCV_N(cache_slice, store, $2 ? $2 : 1);
    uc_rb_slices(keep, $1);
    $3 = ALLOCV_N(cache_buf, bufs_store, $2 ? $2 : 1);
    $4 = ALLOCV_N(int, statuses_store, $2 ? $2 : 1);
    memset($3, 0, ($2 ? $2 : 1) * sizeof(cache_buf));
}
%typemap(argout) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out) {
    $result = rb_ary_new_capa((long)$2);
    for (size_t i = 0; i < $2; i++)
        rb_ary_push($result, $4[i] == CACHE_OK
                                 ? rb_str_new((const char *)$3[i].data, (long)$3[i].size)
                                 : Qnil);
}
%typemap(freearg) (const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out) {
    for (size_t i = 0; i < $2; i++)
        cache_buf_free(&$3[i]);
    ALLOCV_END(bufs_store$argnum);
    ALLOCV_END(statuses_store$argnum);
    ALLOCV_END(store$argnum);
}

%exception uc_handle::uc_handle {
    $action
}
%rename("closed?") uc_handle::closed;
/* Values are Strings like keys (Python has a stricter typemap for them). */
%apply (const void *BYTES, size_t LEN) { (const void *value, size_t value_len) };
#endif /* SWIGRUBY */

/* ============================================================ the class */

%apply (const void *BYTES, size_t LEN) {
    (const void *key, size_t key_len), (const void *pattern, size_t pattern_len),
    (const void *data, size_t size)
};
%apply (const cache_slice *LIST, size_t N) {
    (const cache_slice *keys, size_t n), (const cache_slice *keys, size_t nkeys),
    (const cache_slice *values, size_t nvalues), (const cache_slice *tags, size_t ntags),
    (const cache_slice *tags, size_t n)
};

#ifdef SWIGPYTHON
/* Docstrings with a text signature ("name($self, ...)\n--\n\n"), which
 * gives help() and inspect.signature() the real parameters. */
%define UC_DOC(method, text)
%feature("docstring", text) uc_handle::method;
%enddef
UC_DOC(get, "get($self, key, default=None, /)\n--\n\n"
            "The value stored under key, or default when it is absent or expired.")
UC_DOC(getitem, "_getitem($self, key, /)\n--\n\n"
                "cache[key]: the value stored under key; KeyError when it is absent.")
UC_DOC(del, "delete($self, key)\n--\n\nRemove key; True if it was there.")
UC_DOC(exists, "exists($self, key)\n--\n\nTrue if key is present and not expired.")
UC_DOC(incr, "incr($self, key, delta=1)\n--\n\n"
             "Add delta to the integer counter at key (a missing key starts at 0) and "
             "return the new value. NotANumber if the value is not an integer.")
UC_DOC(decr, "decr($self, key, delta=1)\n--\n\nincr() with -delta.")
UC_DOC(incr_ext, "incr_ext($self, key, delta=1, ttl=None, existing=False)\n--\n\n"
                 "incr() with control: ttl is the TTL (seconds) of a counter this call "
                 "creates; existing=True leaves a missing key absent and returns None "
                 "instead of starting from 0 (atomically). Returns the new value.")
UC_DOC(touch, "touch($self, key, ttl=None)\n--\n\n"
              "Give an existing key a new TTL (seconds; None: the cache's default; "
              "FOREVER); False if it is absent.")
UC_DOC(ttl, "ttl($self, key)\n--\n\n"
            "Seconds key has left, FOREVER (inf) if it never expires, None if absent.")
UC_DOC(delete_many, "delete_many($self, keys)\n--\n\nRemove keys; returns how many existed.")
UC_DOC(delete_pattern, "delete_pattern($self, pattern)\n--\n\n"
                       "Remove every key matching a glob pattern; returns how many. "
                       "NotSupported on memcached.")
UC_DOC(get_into, "get_into($self, key, buffer, /)\n--\n\n"
                 "Copy the raw bytes stored under key into buffer (a bytearray or writable "
                 "memoryview): their length, or None when absent. TooBig if they do not fit.")
%feature("kwargs", "0") uc_handle::get_into;
UC_DOC(ping, "ping($self)\n--\n\nTrue when the backend answers; raises otherwise.")
UC_DOC(close, "close($self)\n--\n\n"
              "Close the cache (closing twice is harmless); other calls raise "
              "InvalidArgument afterwards.")
#endif

%rename(version) cache_version;
const char *cache_version(void);
%constant int KEY_MAX = CACHE_KEY_MAX;

%rename(Handle) uc_handle;
%nodefaultctor uc_handle;
%nodefaultdtor uc_handle;

#ifdef SWIGPYTHON
/* Methods the Python layer wraps (serialisation, argument shapes). */
%rename(_set) uc_handle::set;
%rename(_add) uc_handle::add;
%rename(_get_raw) uc_handle::get_raw;
%rename(_get_many) uc_handle::get_many;
%rename(_set_many) uc_handle::set_many;
%rename(_set_tagged) uc_handle::set_tagged;
%rename(_expire_at) uc_handle::expire_at;
%rename(_stats_json) uc_handle::stats_json;
%rename(_backend_info) uc_handle::backend_info;
%rename(_stats_prometheus) uc_handle::stats_prometheus;
%rename(_invalidate_tags) uc_handle::invalidate_tags;
%rename(_backend_name) uc_handle::backend_name;
%rename(_blocking) uc_handle::blocking;
%rename(_set_blocking) uc_handle::set_blocking;
%rename(_closed) uc_handle::closed;
%rename(_keys) uc_handle::keys;
%rename(_clear) uc_handle::clear;
/* The hot path: positional arguments only, as dict.get. */
%feature("kwargs", "0") uc_handle::get;
%feature("kwargs", "0") uc_handle::getitem;
%rename(_getitem) uc_handle::getitem;
%rename(_dumps) uc_handle::dumps;
%rename(_loads) uc_handle::loads;
%rename(_set_codec) uc_handle::set_codec;
#else
%rename(get) uc_handle::get_raw;
#endif

%rename(delete) uc_handle::del;
struct uc_handle {};

%extend uc_handle {
    uc_handle(const char *uri, const void *prefix, size_t prefix_len, uc_ttl default_ttl)
    {
        struct uc_handle *h = NULL;
        int rc = uc_open(uri, prefix, prefix_len, default_ttl, &h);
        if (rc != CACHE_OK) {
#ifdef SWIGPYTHON
            uc_py_raise(rc);
#else
            uc_rb_raise(rc);
#endif
        }
        return h;
    }

    ~uc_handle()
    {
        if (!$self)
            return;
        /* No call can be in flight: the object is unreachable. */
        uc_close_now($self);
#ifdef SWIGPYTHON
        Py_CLEAR($self->dumps);
        Py_CLEAR($self->loads);
#endif
        free($self);
    }

    /* Close now (or when the calls other threads are making return).
     * Closing twice is harmless; any other call raises afterwards. */
    void close() { uc_close($self); }
    bool closed() { return !$self || !$self->cache || $self->closing; }
    const char *backend_name() { return $self ? $self->backend : "closed"; }
    bool blocking() { return $self && $self->blocking; }
    /* For bench/python_gil.py, which measures what releasing costs. */
    void set_blocking(bool on)
    {
        if ($self)
            $self->blocking = on;
    }

    uc_status set(const void *key, size_t key_len, const void *value, size_t value_len,
                  uc_ttl ttl = CACHE_TTL_DEFAULT)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_set(c, key, key_len, value, value_len, ttl);
        });
    }

    uc_status add(const void *key, size_t key_len, const void *value, size_t value_len,
                  uc_ttl ttl = CACHE_TTL_DEFAULT)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_add(c, key, key_len, value, value_len, ttl);
        });
    }

    uc_status get_raw(const void *key, size_t key_len, cache_buf *value_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_get(c, key, key_len, value_out); });
    }

    uc_status del(const void *key, size_t key_len)
    {
        return uc_run($self, [&](cache_t *c) { return cache_delete(c, key, key_len); });
    }

    uc_status exists(const void *key, size_t key_len)
    {
        return uc_run($self, [&](cache_t *c) { return cache_exists(c, key, key_len); });
    }

    uc_status incr(const void *key, size_t key_len, cache_int64 delta = 1,
                   cache_int64 *int_out = NULL)
    {
        return uc_run($self, [&](cache_t *c) { return cache_incr(c, key, key_len, delta, int_out); });
    }

    uc_status decr(const void *key, size_t key_len, cache_int64 delta = 1,
                   cache_int64 *int_out = NULL)
    {
        return uc_run($self, [&](cache_t *c) { return cache_decr(c, key, key_len, delta, int_out); });
    }

    /* cache_incr_ext: ttl is the TTL of a counter this call creates;
     * existing: a missing key stays absent (nil/None) instead of starting
     * at 0. Returns the new value. */
    uc_status incr_ext(const void *key, size_t key_len, cache_int64 delta = 1,
                       uc_ttl ttl = CACHE_TTL_DEFAULT, bool existing = false,
                       cache_int64 *counter_out = NULL)
    {
        unsigned flags = existing ? CACHE_INCR_EXISTING : 0u;
        return uc_run($self, [&](cache_t *c) {
            return cache_incr_ext(c, key, key_len, delta, ttl, flags, counter_out);
        });
    }

    uc_status touch(const void *key, size_t key_len, uc_ttl ttl = CACHE_TTL_DEFAULT)
    {
        return uc_run($self, [&](cache_t *c) { return cache_touch(c, key, key_len, ttl); });
    }

    uc_status expire_at(const void *key, size_t key_len, cache_int64 unix_ms)
    {
        return uc_run($self, [&](cache_t *c) { return cache_expire_at(c, key, key_len, unix_ms); });
    }

    uc_status ttl(const void *key, size_t key_len, cache_int64 *ttl_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_ttl(c, key, key_len, ttl_out); });
    }

    uc_status get_many(const cache_slice *keys, size_t n, cache_buf *values_out, int *statuses_out)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_get_many(c, keys, n, values_out, statuses_out);
        });
    }

    uc_status set_many(const cache_slice *keys, size_t nkeys, const cache_slice *values,
                       size_t nvalues, uc_ttl ttl = CACHE_TTL_DEFAULT)
    {
        if (nkeys != nvalues) {
#ifdef SWIGPYTHON
            uc_py_invalid("invalid argument: set_many needs as many values as keys");
            return UC_ERAISED;
#else
            uc_rb_invalid("invalid argument: set_many needs as many values as keys");
#endif
        }
        return uc_run($self, [&](cache_t *c) { return cache_set_many(c, keys, values, nkeys, ttl); });
    }

    uc_status delete_many(const cache_slice *keys, size_t n, size_t *count_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_delete_many(c, keys, n, count_out); });
    }

    uc_status keys(const void *pattern, size_t pattern_len, size_t limit = 0,
                   cache_buf_array *keys_out = NULL)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_keys(c, pattern, pattern_len, limit, keys_out);
        });
    }

    uc_status delete_pattern(const void *pattern, size_t pattern_len, size_t *count_out)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_delete_pattern(c, pattern, pattern_len, count_out);
        });
    }

    uc_status clear()
    {
        return uc_run($self, [&](cache_t *c) { return cache_clear(c); });
    }

    uc_status set_tagged(const void *key, size_t key_len, const void *value, size_t value_len,
                         uc_ttl ttl, const cache_slice *tags, size_t ntags)
    {
        return uc_run($self, [&](cache_t *c) {
            return cache_set_tagged(c, key, key_len, value, value_len, ttl, tags, ntags);
        });
    }

    uc_status invalidate_tags(const cache_slice *tags, size_t n, size_t *count_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_invalidate_tags(c, tags, n, count_out); });
    }

    uc_status ping()
    {
        return uc_run($self, [&](cache_t *c) { return cache_ping(c); });
    }

    uc_status stats_json(cache_buf *text_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_stats_json(c, text_out); });
    }

    uc_status stats_prometheus(cache_buf *text_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_stats_prometheus(c, text_out); });
    }

    uc_status backend_info(cache_buf *text_out)
    {
        return uc_run($self, [&](cache_t *c) { return cache_backend_info(c, text_out); });
    }

#ifdef SWIGPYTHON
    /* The hot path (replaced by uc_py_get_fastcall in %init). */
    PyObject *get(PyObject *key, PyObject *default_value = Py_None)
    {
        return uc_py_get($self, key, default_value);
    }

    /* c[key]: KeyError(key) on a miss. */
    PyObject *getitem(PyObject *key) { return uc_py_get($self, key, NULL); }

    /* get_into(key, buffer): cache_get_into a writable bytes-like object
     * (bytearray, memoryview, array): the value's length, or None on a miss.
     * A value longer than the buffer raises TooBig naming the length it
     * needs, and leaves the buffer untouched. (Ruby has no get_into: a Ruby
     * String cannot lend its memory as a fixed-size buffer the way a
     * bytearray does, and its get builds a new String either way.) */
    PyObject *get_into(const void *key, size_t key_len, PyObject *buffer)
    {
        Py_buffer view;
        if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "buffer must be a writable contiguous bytes-like object "
                         "(bytearray, memoryview), not %.100s",
                         Py_TYPE(buffer)->tp_name);
            return NULL;
        }
        size_t n = 0;
        int rc = uc_run($self, [&](cache_t *c) {
            return cache_get_into(c, key, key_len, view.buf, (size_t)view.len, &n);
        });
        PyBuffer_Release(&view);
        if (rc == CACHE_OK)
            return PyLong_FromSize_t(n);
        if (rc == CACHE_MISS)
            Py_RETURN_NONE;
        return uc_py_raise(rc);
    }

    PyObject *dumps(PyObject *value) { return uc_py_dumps($self, value); }

    PyObject *loads(const void *data, size_t size)
    {
        return uc_py_loads($self, (const char *)data, size);
    }

    /* codec: 0 raw, 1 JSON (dumps returns str, loads takes str), 2 any
     * dumps/loads pair working on bytes. */
    PyObject *set_codec(int codec, PyObject *dumps, PyObject *loads)
    {
        if (codec < UC_CODEC_RAW || codec > UC_CODEC_OBJECT)
            return uc_py_invalid("invalid argument: unknown codec");
        if (codec != UC_CODEC_RAW && (!PyCallable_Check(dumps) || !PyCallable_Check(loads))) {
            PyErr_SetString(PyExc_TypeError, "dumps and loads must be callable");
            return NULL;
        }
        Py_INCREF(dumps);
        Py_INCREF(loads);
        Py_XSETREF($self->dumps, dumps);
        Py_XSETREF($self->loads, loads);
        $self->codec = codec;
        Py_RETURN_NONE;
    }
#endif
}

/* ------------------------------------------------ stampede protection */
/*
 * The lease protocol of the C core (cache_lease_*), for the languages'
 * get_or_set/cached/fetch: one compute per key across every process that
 * shares the backend. A lease travels as three integers (the C struct's
 * private fields). The language layers serialise. The per-call settings
 * (cache_fetch_options) come as plain numbers, -1 for "the cache's":
 * lease_ttl, lock_timeout and stale_ttl in ms, early_refresh the beta.
 */

#ifdef SWIGPYTHON
%rename(_lease_get) uc_handle::lease_get;
%rename(_lease_set) uc_handle::lease_set;
%rename(_lease_release) uc_handle::lease_release;
%rename(_lease_set_tagged) uc_handle::lease_set_tagged;
#endif

%extend uc_handle {
    /* cache_lease_set: True when stored, False when the lease was lost (a
     * delete or a newer set in between): nothing stored. */
    uc_status lease_set(const void *key, size_t key_len, long long token, long long check,
                        long long started, const void *value, size_t value_len,
                        uc_ttl ttl = CACHE_TTL_DEFAULT, long long stale_ttl = -1,
                        double early_refresh = -1.0)
    {
        cache_lease l = {token, check, started};
        cache_fetch_options o = uc_fetch_options(-1, -1, stale_ttl, early_refresh);
        int rc = uc_run($self, [&](cache_t *c) {
            return cache_lease_set_ext(c, key, key_len, &l, value, value_len, ttl, &o);
        });
        return rc == CACHE_ELEASE ? CACHE_MISS : rc;
    }

    /* cache_lease_set_tagged: lease_set that also attaches the tags. */
    uc_status lease_set_tagged(const void *key, size_t key_len, long long token,
                               long long check, long long started, const void *value,
                               size_t value_len, uc_ttl ttl, const cache_slice *tags,
                               size_t ntags, long long stale_ttl = -1,
                               double early_refresh = -1.0)
    {
        cache_lease l = {token, check, started};
        cache_fetch_options o = uc_fetch_options(-1, -1, stale_ttl, early_refresh);
        int rc = uc_run($self, [&](cache_t *c) {
            return cache_lease_set_tagged(c, key, key_len, &l, value, value_len, ttl, tags, ntags,
                                          &o);
        });
        return rc == CACHE_ELEASE ? CACHE_MISS : rc;
    }

    /* cache_lease_release: True (released or already lost). */
    uc_status lease_release(const void *key, size_t key_len, long long token, long long check,
                            long long started)
    {
        cache_lease l = {token, check, started};
        return uc_run($self, [&](cache_t *c) { return cache_lease_release(c, key, key_len, &l); });
    }

#ifdef SWIGPYTHON
    /* cache_lease_get: (status, raw value or None, lease or None), status
     * 0 OK, 1 MISS, 2 STALE, 3 WAIT (nowait only); errors raise. */
    PyObject *lease_get(PyObject *key, int nowait = 0, long long lease_ttl = -1,
                        long long lock_timeout = -1, double early_refresh = -1.0,
                        long long stale_ttl = -1)
    {
        uc_py_in in;
        if (uc_py_bytes(key, "key", false, &in) < 0)
            return NULL;
        cache_buf buf = {NULL, 0};
        cache_lease lease = CACHE_LEASE_INIT;
        cache_fetch_options o =
            uc_fetch_options(lease_ttl, lock_timeout, stale_ttl, early_refresh);
        int rc = uc_run_waiting($self, [&](cache_t *c) {
            return cache_lease_get_ext(c, in.data, in.size, nowait ? CACHE_LEASE_NOWAIT : 0, &o,
                                       &buf, &lease);
        });
        if (rc < 0) {
            uc_py_release(&in);
            return uc_py_raise(rc);
        }
        PyObject *data = rc == CACHE_OK || rc == CACHE_STALE
                             ? PyBytes_FromStringAndSize((const char *)buf.data,
                                                         (Py_ssize_t)buf.size)
                             : Py_NewRef(Py_None);
        cache_buf_free(&buf);
        PyObject *held = cache_lease_held(&lease)
                             ? Py_BuildValue("(LLL)", (long long)lease.token_,
                                             (long long)lease.check_, (long long)lease.started_)
                             : Py_NewRef(Py_None);
        PyObject *out = data && held ? Py_BuildValue("(iOO)", rc, data, held) : NULL;
        Py_XDECREF(data);
        Py_XDECREF(held);
        if (!out && cache_lease_held(&lease)) /* nobody would end it: now */
            uc_run($self, [&](cache_t *c) {
                return cache_lease_release(c, in.data, in.size, &lease);
            });
        uc_py_release(&in);
        return out;
    }
#else
    /* cache_lease_get: [status, raw value or nil, lease or nil]. */
    VALUE lease_get(VALUE key, bool nowait = false, long long lease_ttl = -1,
                    long long lock_timeout = -1, double early_refresh = -1.0,
                    long long stale_ttl = -1)
    {
        VALUE k = uc_rb_bytes(key, "key");
        cache_buf buf = {NULL, 0};
        cache_lease lease = CACHE_LEASE_INIT;
        cache_fetch_options o =
            uc_fetch_options(lease_ttl, lock_timeout, stale_ttl, early_refresh);
        int rc = uc_run_waiting($self, [&](cache_t *c) {
            return cache_lease_get_ext(c, RSTRING_PTR(k), (size_t)RSTRING_LEN(k),
                                       nowait ? CACHE_LEASE_NOWAIT : 0, &o, &buf, &lease);
        });
        RB_GC_GUARD(k);
        if (rc < 0)
            uc_rb_raise(rc);
        VALUE data = Qnil;
        if (rc == CACHE_OK || rc == CACHE_STALE) {
            data = rb_enc_str_new((const char *)buf.data, (long)buf.size, rb_ascii8bit_encoding());
            cache_buf_free(&buf);
        }
        VALUE held = Qnil;
        if (cache_lease_held(&lease))
            held = rb_ary_new_from_args(3, LL2NUM(lease.token_), LL2NUM(lease.check_),
                                        LL2NUM(lease.started_));
        return rb_ary_new_from_args(3, INT2NUM(rc), data, held);
    }
#endif
}
