/*
 * unicache._fastpath: the hit path of @cached and @memoize in C.
 *
 * A decorated call used to bind its arguments with inspect.Signature.bind
 * (about 3 us, most of a hit). Here the binding of the common signatures
 * (no *args, no **kwargs) and the key text of the common argument types
 * are done in C, and the decorated function itself is a C callable, so a
 * hit runs no Python frame at all. Anything unusual (a *args signature, a
 * wrong call, an argument type without a C rule, a long key) is handed
 * back to the Python code that defines the key (unicache._keys), so the
 * key text, and every error, stay those of one definition.
 *
 *   KeyMaker     the key of a call: "<module>.<qualname>:a=1,b='x'" (or a
 *                str.format template), and for memoize a table key.
 *   CachedCall   @cached: key, cache.get(key, MISSING), else miss().
 *   MemoTable    @memoize's store: in this process, LRU, optional TTL;
 *                immutable results are kept as they are, others pickled.
 *   MemoCall     @memoize: key, table lookup, else miss().
 *
 * Every object here runs under the GIL; the LRU list is never left
 * half-linked across a call that could run Python code (an allocation may
 * run a finalizer that calls the same function).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>

#define MAX_FAST_PARAMS 16

/* ------------------------------------------------------------ KeyMaker */

typedef struct {
    PyObject_HEAD vectorcallfunc vectorcall;
    PyObject *prefix;    /* "<module>.<qualname>:" */
    PyObject *names;     /* tuple of parameter names (str) */
    PyObject *labels;    /* tuple: "a=", ",b=", ",c=" */
    PyObject *defaults;  /* tuple, NoDefault where a parameter has none */
    PyObject *template_; /* str.format bound method, or None */
    PyObject *part;      /* callable(value) -> str, the Python rule */
    PyObject *slow;      /* callable(args, kwargs) -> key, the whole rule */
    PyObject *long_key;  /* callable(text) -> key, for keys over max_key */
    Py_ssize_t npos;     /* parameters that may be given by position */
    Py_ssize_t nposonly; /* of those, positional-only */
    Py_ssize_t max_key;
    int fast; /* the signature has no *args / **kwargs */
} KeyMaker;

static PyObject *NoDefault; /* a sentinel object of this module */

static PyObject *km_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames);

static int km_traverse(KeyMaker *self, visitproc visit, void *arg)
{
    Py_VISIT(self->prefix);
    Py_VISIT(self->names);
    Py_VISIT(self->labels);
    Py_VISIT(self->defaults);
    Py_VISIT(self->template_);
    Py_VISIT(self->part);
    Py_VISIT(self->slow);
    Py_VISIT(self->long_key);
    return 0;
}

static int km_clear(KeyMaker *self)
{
    Py_CLEAR(self->prefix);
    Py_CLEAR(self->names);
    Py_CLEAR(self->labels);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->template_);
    Py_CLEAR(self->part);
    Py_CLEAR(self->slow);
    Py_CLEAR(self->long_key);
    return 0;
}

static void km_dealloc(KeyMaker *self)
{
    PyObject_GC_UnTrack(self);
    km_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* KeyMaker(prefix, names, defaults, npos, nposonly, fast, template, part,
 *          slow, long_key, max_key) */
static PyObject *km_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *prefix, *names, *defaults, *template_, *part, *slow, *long_key;
    Py_ssize_t npos, nposonly, max_key;
    int fast;
    if (kwargs && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "KeyMaker takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "UO!O!nnpOOOOn:KeyMaker", &prefix, &PyTuple_Type, &names,
                          &PyTuple_Type, &defaults, &npos, &nposonly, &fast, &template_, &part,
                          &slow, &long_key, &max_key))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(defaults) != n || npos < 0 || npos > n || nposonly < 0 ||
        nposonly > npos) {
        PyErr_SetString(PyExc_ValueError, "KeyMaker: inconsistent signature description");
        return NULL;
    }
    PyObject *labels = PyTuple_New(n);
    if (!labels)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            Py_DECREF(labels);
            PyErr_SetString(PyExc_TypeError, "KeyMaker: parameter names must be str");
            return NULL;
        }
        PyObject *label = PyUnicode_FromFormat(i ? ",%U=" : "%U=", name);
        if (!label) {
            Py_DECREF(labels);
            return NULL;
        }
        PyTuple_SET_ITEM(labels, i, label);
    }
    KeyMaker *self = (KeyMaker *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(labels);
        return NULL;
    }
    self->prefix = Py_NewRef(prefix);
    self->names = Py_NewRef(names);
    self->labels = labels;
    self->defaults = Py_NewRef(defaults);
    self->template_ = Py_NewRef(template_);
    self->part = Py_NewRef(part);
    self->slow = Py_NewRef(slow);
    self->long_key = Py_NewRef(long_key);
    self->npos = npos;
    self->nposonly = nposonly;
    self->max_key = max_key;
    self->fast = fast && n <= MAX_FAST_PARAMS;
    self->vectorcall = km_vectorcall;
    return (PyObject *)self;
}

/* Binds a vectorcall's arguments to the parameters (borrowed references
 * into slots). 1: bound; 0: not a shape bound here (the Python rule will
 * bind it, or raise the TypeError a wrong call deserves). */
static int km_bind(KeyMaker *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   PyObject **slots)
{
    if (!self->fast || nargs > self->npos)
        return 0;
    Py_ssize_t n = PyTuple_GET_SIZE(self->names);
    for (Py_ssize_t i = 0; i < n; i++)
        slots[i] = i < nargs ? args[i] : NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t j = self->nposonly;
        /* Names in kwnames and in a code object are interned: identity
         * almost always decides; equality covers the rest. */
        for (; j < n; j++)
            if (PyTuple_GET_ITEM(self->names, j) == kw)
                break;
        if (j == n) {
            for (j = self->nposonly; j < n; j++) {
                int eq = PyUnicode_Compare(PyTuple_GET_ITEM(self->names, j), kw);
                if (eq == -1 && PyErr_Occurred())
                    return -1;
                if (eq == 0)
                    break;
            }
        }
        if (j == n || slots[j])
            return 0;
        slots[j] = args[nargs + k];
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!slots[i]) {
            PyObject *d = PyTuple_GET_ITEM(self->defaults, i);
            if (d == NoDefault)
                return 0;
            slots[i] = d;
        }
    }
    return 1;
}

/* The text of one argument: the types a key sees most, else the Python
 * rule (which knows __cache_key__, containers and refusals). */
static PyObject *km_part(KeyMaker *self, PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBytes_Type ||
        t == &PyBool_Type || v == Py_None)
        return PyObject_Repr(v);
    PyObject *out = PyObject_CallOneArg(self->part, v);
    if (out && !PyUnicode_Check(out)) {
        PyErr_Format(PyExc_TypeError, "a cache key part must be str, not %.100s",
                     Py_TYPE(out)->tp_name);
        Py_CLEAR(out);
    }
    return out;
}

static PyObject *km_slow(KeyMaker *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *t = PyTuple_New(nargs);
    if (!t)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(t, i, Py_NewRef(args[i]));
    PyObject *d = PyDict_New();
    if (!d) {
        Py_DECREF(t);
        return NULL;
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        if (PyDict_SetItem(d, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]) < 0) {
            Py_DECREF(t);
            Py_DECREF(d);
            return NULL;
        }
    }
    PyObject *out = PyObject_CallFunctionObjArgs(self->slow, t, d, NULL);
    Py_DECREF(t);
    Py_DECREF(d);
    return out;
}

/* "<prefix>" + labels[i] + part(slot[i]) ..., sized once and copied. */
static PyObject *km_text_key(KeyMaker *self, PyObject **slots)
{
    Py_ssize_t n = PyTuple_GET_SIZE(self->names);
    PyObject *parts[MAX_FAST_PARAMS];
    Py_ssize_t len = PyUnicode_GET_LENGTH(self->prefix);
    Py_UCS4 maxchar = PyUnicode_MAX_CHAR_VALUE(self->prefix);
    PyObject *out = NULL;
    Py_ssize_t i, made = 0;
    for (i = 0; i < n; i++, made++) {
        parts[i] = km_part(self, slots[i]);
        if (!parts[i])
            goto done;
        PyObject *label = PyTuple_GET_ITEM(self->labels, i);
        len += PyUnicode_GET_LENGTH(label) + PyUnicode_GET_LENGTH(parts[i]);
        if (PyUnicode_MAX_CHAR_VALUE(parts[i]) > maxchar)
            maxchar = PyUnicode_MAX_CHAR_VALUE(parts[i]);
        if (PyUnicode_MAX_CHAR_VALUE(label) > maxchar)
            maxchar = PyUnicode_MAX_CHAR_VALUE(label);
    }
    out = PyUnicode_New(len, maxchar);
    if (!out)
        goto done;
    Py_ssize_t pos = PyUnicode_GET_LENGTH(self->prefix);
    PyUnicode_CopyCharacters(out, 0, self->prefix, 0, pos);
    for (i = 0; i < n; i++) {
        PyObject *label = PyTuple_GET_ITEM(self->labels, i);
        PyUnicode_CopyCharacters(out, pos, label, 0, PyUnicode_GET_LENGTH(label));
        pos += PyUnicode_GET_LENGTH(label);
        PyUnicode_CopyCharacters(out, pos, parts[i], 0, PyUnicode_GET_LENGTH(parts[i]));
        pos += PyUnicode_GET_LENGTH(parts[i]);
    }
    if (len > self->max_key) {
        PyObject *text = PyUnicode_Substring(out, PyUnicode_GET_LENGTH(self->prefix), len);
        Py_CLEAR(out);
        if (text) {
            out = PyObject_CallOneArg(self->long_key, text);
            Py_DECREF(text);
        }
    }
done:
    for (i = 0; i < made; i++)
        Py_DECREF(parts[i]);
    return out;
}

static PyObject *km_template_key(KeyMaker *self, PyObject **slots)
{
    Py_ssize_t n = PyTuple_GET_SIZE(self->names);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyDict_SetItem(d, PyTuple_GET_ITEM(self->names, i), slots[i]) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    PyObject *empty = PyTuple_New(0);
    PyObject *out = empty ? PyObject_Call(self->template_, empty, d) : NULL;
    Py_XDECREF(empty);
    Py_DECREF(d);
    return out;
}

/* The cache key of a call (the documented text). */
static PyObject *km_key(KeyMaker *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *slots[MAX_FAST_PARAMS];
    int bound = km_bind(self, args, nargs, kwnames, slots);
    if (bound < 0)
        return NULL;
    if (!bound)
        return km_slow(self, args, nargs, kwnames);
    if (self->template_ != Py_None)
        return km_template_key(self, slots);
    return km_text_key(self, slots);
}

/* The key of a call in a MemoTable: a tuple of the bound values when each
 * is an exact str, int or None (equal tuples exactly when equal key texts:
 * bool, float and bytes are left out, since True == 1, 1.0 == 1 and
 * b"a" vs "a" would compare across types), else the key text. */
static PyObject *km_table_key(KeyMaker *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    PyObject *slots[MAX_FAST_PARAMS];
    int bound = km_bind(self, args, nargs, kwnames, slots);
    if (bound < 0)
        return NULL;
    if (!bound || self->template_ != Py_None)
        return km_key(self, args, nargs, kwnames);
    Py_ssize_t n = PyTuple_GET_SIZE(self->names);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTypeObject *t = Py_TYPE(slots[i]);
        if (t != &PyUnicode_Type && t != &PyLong_Type && slots[i] != Py_None)
            return km_text_key(self, slots);
    }
    PyObject *tuple = PyTuple_New(n);
    if (!tuple)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(slots[i]));
    return tuple;
}

static PyObject *km_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    return km_key((KeyMaker *)self, args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyObject *km_table_key_method(PyObject *self, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames)
{
    return km_table_key((KeyMaker *)self, args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyMethodDef km_methods[] = {
    {"table_key", (PyCFunction)(void (*)(void))km_table_key_method, METH_FASTCALL | METH_KEYWORDS,
     "table_key(*args, **kwargs): a MemoTable key for a call."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KeyMakerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unicache._fastpath.KeyMaker",
    .tp_basicsize = sizeof(KeyMaker),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "KeyMaker(...)(*args, **kwargs) -> the cache key of a call",
    .tp_vectorcall_offset = offsetof(KeyMaker, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)km_traverse,
    .tp_clear = (inquiry)km_clear,
    .tp_dealloc = (destructor)km_dealloc,
    .tp_new = km_new,
    .tp_methods = km_methods,
};

/* --------------------------------------------- shared by the wrappers */

/* What a C wrapper needs to look like the function it wraps
 * (functools.wraps writes __name__, __doc__, __wrapped__ ... into __dict__)
 * and to be a method when it is a class attribute. */
#define WRAPPER_HEAD                                                                               \
    PyObject_HEAD vectorcallfunc vectorcall;                                                       \
    PyObject *dict;                                                                                \
    PyObject *weakrefs;                                                                            \
    PyObject *func;                                                                                \
    KeyMaker *km;                                                                                  \
    PyObject *miss;

typedef struct {
    WRAPPER_HEAD
} Wrapper;

static PyObject *wrapper_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

/* Pickled and copied by name, like a function (and like lru_cache). */
static PyObject *wrapper_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyObject_GetAttrString(self, "__qualname__");
}

static PyObject *wrapper_copy(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *wrapper_deepcopy(PyObject *self, PyObject *memo)
{
    (void)memo;
    return Py_NewRef(self);
}

static PyGetSetDef wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* The arguments of a vectorcall as (args tuple, kwargs dict), for the
 * Python code of a miss. */
static int vector_to_tuple_dict(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                PyObject **tuple, PyObject **dict)
{
    *tuple = PyTuple_New(nargs);
    *dict = PyDict_New();
    if (!*tuple || !*dict)
        goto fail;
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(*tuple, i, Py_NewRef(args[i]));
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++)
        if (PyDict_SetItem(*dict, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]) < 0)
            goto fail;
    return 0;
fail:
    Py_CLEAR(*tuple);
    Py_CLEAR(*dict);
    return -1;
}

/* miss(*prefix_args, key, args, kwargs) */
static PyObject *call_miss(PyObject *miss, PyObject *first, PyObject *key, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *t, *d;
    if (vector_to_tuple_dict(args, nargs, kwnames, &t, &d) < 0)
        return NULL;
    PyObject *out = first ? PyObject_CallFunctionObjArgs(miss, first, key, t, d, NULL)
                          : PyObject_CallFunctionObjArgs(miss, key, t, d, NULL);
    Py_DECREF(t);
    Py_DECREF(d);
    return out;
}

/* ---------------------------------------------------------- CachedCall */

typedef struct {
    WRAPPER_HEAD
    PyObject *cache;   /* the Cache, or None: resolve() per call */
    PyObject *getter;  /* cache.get bound once, or NULL */
    PyObject *resolve; /* callable() -> Cache */
    PyObject *unless;  /* callable(*args, **kwargs) or None */
    PyObject *missing; /* the sentinel get() returns on a miss */
} CachedCall;

static int cc_traverse(CachedCall *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    Py_VISIT(self->func);
    Py_VISIT(self->km);
    Py_VISIT(self->miss);
    Py_VISIT(self->cache);
    Py_VISIT(self->getter);
    Py_VISIT(self->resolve);
    Py_VISIT(self->unless);
    Py_VISIT(self->missing);
    return 0;
}

static int cc_clear(CachedCall *self)
{
    Py_CLEAR(self->dict);
    Py_CLEAR(self->func);
    Py_CLEAR(self->km);
    Py_CLEAR(self->miss);
    Py_CLEAR(self->cache);
    Py_CLEAR(self->getter);
    Py_CLEAR(self->resolve);
    Py_CLEAR(self->unless);
    Py_CLEAR(self->missing);
    return 0;
}

static void cc_dealloc(CachedCall *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    cc_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *cc_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    CachedCall *self = (CachedCall *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (self->unless != Py_None) {
        PyObject *skip = PyObject_Vectorcall(self->unless, args, nargs, kwnames);
        if (!skip)
            return NULL;
        int truth = PyObject_IsTrue(skip);
        Py_DECREF(skip);
        if (truth < 0)
            return NULL;
        if (truth)
            return PyObject_Vectorcall(self->func, args, nargs, kwnames);
    }
    PyObject *cache, *getter;
    if (self->getter) {
        cache = Py_NewRef(self->cache);
        getter = Py_NewRef(self->getter);
    } else {
        cache = PyObject_CallNoArgs(self->resolve);
        if (!cache)
            return NULL;
        getter = PyObject_GetAttrString(cache, "get");
        if (!getter) {
            Py_DECREF(cache);
            return NULL;
        }
    }
    PyObject *out = NULL;
    PyObject *key = km_key(self->km, args, nargs, kwnames);
    if (key) {
        PyObject *getargs[3] = {NULL, key, self->missing};
        out = PyObject_Vectorcall(getter, getargs + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        if (out == self->missing) {
            Py_DECREF(out);
            out = call_miss(self->miss, cache, key, args, nargs, kwnames);
        }
        Py_DECREF(key);
    }
    Py_DECREF(getter);
    Py_DECREF(cache);
    return out;
}

/* CachedCall(func, keymaker, cache_or_None, resolve, unless, miss, missing)
 * miss(cache, key, args, kwargs) computes, stores and returns a value. */
static PyObject *cc_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    PyObject *func, *cache, *resolve, *unless, *miss, *missing;
    KeyMaker *km;
    if (!PyArg_ParseTuple(args, "OO!OOOOO:CachedCall", &func, &KeyMakerType, &km, &cache, &resolve,
                          &unless, &miss, &missing))
        return NULL;
    PyObject *getter = NULL;
    if (cache != Py_None) {
        getter = PyObject_GetAttrString(cache, "get");
        if (!getter)
            return NULL;
    }
    CachedCall *self = (CachedCall *)type->tp_alloc(type, 0);
    if (!self) {
        Py_XDECREF(getter);
        return NULL;
    }
    self->vectorcall = cc_vectorcall;
    self->func = Py_NewRef(func);
    self->km = (KeyMaker *)Py_NewRef((PyObject *)km);
    self->cache = Py_NewRef(cache);
    self->getter = getter;
    self->resolve = Py_NewRef(resolve);
    self->unless = Py_NewRef(unless);
    self->miss = Py_NewRef(miss);
    self->missing = Py_NewRef(missing);
    return (PyObject *)self;
}

static PyMethodDef wrapper_methods[] = {
    {"__reduce__", wrapper_reduce, METH_NOARGS, NULL},
    {"__copy__", wrapper_copy, METH_NOARGS, NULL},
    {"__deepcopy__", wrapper_deepcopy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CachedCallType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unicache._fastpath.CachedCall",
    .tp_basicsize = sizeof(CachedCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function decorated with @unicache.cached.",
    .tp_vectorcall_offset = offsetof(CachedCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_dictoffset = offsetof(CachedCall, dict),
    .tp_weaklistoffset = offsetof(CachedCall, weakrefs),
    .tp_descr_get = wrapper_descr_get,
    .tp_traverse = (traverseproc)cc_traverse,
    .tp_clear = (inquiry)cc_clear,
    .tp_dealloc = (destructor)cc_dealloc,
    .tp_new = cc_new,
    .tp_methods = wrapper_methods,
    .tp_getset = wrapper_getset,
};

/* ----------------------------------------------------------- MemoTable */

typedef struct MemoEntry {
    PyObject_HEAD struct MemoEntry *prev, *next; /* LRU list; the dict holds the reference */
    PyObject *key;
    PyObject *value; /* the result, or its pickle when copied */
    double expires;  /* monotonic seconds; 0: never */
    int pickled;
} MemoEntry;

static void me_dealloc(MemoEntry *self)
{
    Py_XDECREF(self->key);
    Py_XDECREF(self->value);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Entries hold only keys of exact str/int/None/tuples of them and either
 * immutable results or bytes: they cannot be part of a cycle. */
static PyTypeObject MemoEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unicache._fastpath.MemoEntry",
    .tp_basicsize = sizeof(MemoEntry),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)me_dealloc,
};

typedef struct {
    PyObject_HEAD PyObject *entries; /* dict key -> MemoEntry */
    MemoEntry root;                  /* root.next: most recently used; root.prev: least */
    Py_ssize_t maxsize;              /* -1: unbounded */
    double ttl;                      /* seconds; 0: never expires */
    PyObject *dumps, *loads;
} MemoTable;

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void lru_unlink(MemoEntry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(MemoTable *t, MemoEntry *e)
{
    e->prev = &t->root;
    e->next = t->root.next;
    t->root.next->prev = e;
    t->root.next = e;
}

static int mt_traverse(MemoTable *self, visitproc visit, void *arg)
{
    Py_VISIT(self->entries);
    Py_VISIT(self->dumps);
    Py_VISIT(self->loads);
    return 0;
}

static void mt_unlink_all(MemoTable *self)
{
    while (self->root.next != &self->root)
        lru_unlink(self->root.next);
}

static int mt_clear_refs(MemoTable *self)
{
    mt_unlink_all(self);
    Py_CLEAR(self->entries);
    Py_CLEAR(self->dumps);
    Py_CLEAR(self->loads);
    return 0;
}

static void mt_dealloc(MemoTable *self)
{
    PyObject_GC_UnTrack(self);
    mt_clear_refs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* MemoTable(maxsize_or_None, ttl_seconds_or_0, dumps, loads) */
static PyObject *mt_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    PyObject *maxsize, *dumps, *loads;
    double ttl;
    if (!PyArg_ParseTuple(args, "OdOO:MemoTable", &maxsize, &ttl, &dumps, &loads))
        return NULL;
    Py_ssize_t max = -1;
    if (maxsize != Py_None) {
        max = PyLong_AsSsize_t(maxsize);
        if (max == -1 && PyErr_Occurred())
            return NULL;
        if (max < 1) {
            PyErr_SetString(PyExc_ValueError, "maxsize must be >= 1 (or None for no limit)");
            return NULL;
        }
    }
    if (!(ttl >= 0)) {
        PyErr_SetString(PyExc_ValueError, "ttl must be >= 0 seconds (0: never expires)");
        return NULL;
    }
    MemoTable *self = (MemoTable *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->root.prev = self->root.next = &self->root;
    self->maxsize = max;
    self->ttl = ttl;
    self->dumps = Py_NewRef(dumps);
    self->loads = Py_NewRef(loads);
    self->entries = PyDict_New();
    if (!self->entries) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* A result that nobody can change, so handing out the same object is as
 * good as a copy: None, bool, int, float, complex, str, bytes, and tuples
 * and frozensets of those (exact types only: a subclass may add state). */
static int is_immutable(PyObject *v, int depth)
{
    PyTypeObject *t = Py_TYPE(v);
    if (v == Py_None || t == &PyBool_Type || t == &PyLong_Type || t == &PyFloat_Type ||
        t == &PyUnicode_Type || t == &PyBytes_Type || t == &PyComplex_Type)
        return 1;
    if (depth > 8)
        return 0;
    if (t == &PyTuple_Type) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++)
            if (!is_immutable(PyTuple_GET_ITEM(v, i), depth + 1))
                return 0;
        return 1;
    }
    if (t == &PyFrozenSet_Type) {
        PyObject *it = PyObject_GetIter(v), *item;
        int all = it != NULL;
        while (all && (item = PyIter_Next(it))) {
            all = is_immutable(item, depth + 1);
            Py_DECREF(item);
        }
        Py_XDECREF(it);
        PyErr_Clear(); /* a failed check only means "copy it" */
        return all;
    }
    return 0;
}

/* The live value of key (a new reference, a fresh copy when pickled), or
 * NULL without an error on a miss. */
static PyObject *mt_lookup(MemoTable *self, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(self->entries, key);
    if (!found)
        return NULL;
    MemoEntry *e = (MemoEntry *)found;
    if (e->expires != 0 && monotonic_now() >= e->expires) {
        Py_INCREF(e);
        lru_unlink(e);
        int rc = PyDict_DelItem(self->entries, key);
        Py_DECREF(e);
        if (rc < 0)
            PyErr_Clear();
        return NULL;
    }
    if (self->root.next != e) {
        lru_unlink(e);
        lru_push_front(self, e);
    }
    if (!e->pickled)
        return Py_NewRef(e->value);
    PyObject *value = Py_NewRef(e->value); /* loads() may run code that drops e */
    PyObject *out = PyObject_CallOneArg(self->loads, value);
    Py_DECREF(value);
    return out;
}

static PyObject *mt_get(MemoTable *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
        return NULL;
    }
    PyObject *out = mt_lookup(self, args[0]);
    if (out || PyErr_Occurred())
        return out;
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static PyObject *mt_store(MemoTable *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "store(key, value)");
        return NULL;
    }
    PyObject *key = args[0], *value = args[1];
    int pickled = !is_immutable(value, 0);
    PyObject *stored = pickled ? PyObject_CallOneArg(self->dumps, value) : Py_NewRef(value);
    if (!stored)
        return NULL;
    MemoEntry *e = PyObject_New(MemoEntry, &MemoEntryType);
    if (!e) {
        Py_DECREF(stored);
        return NULL;
    }
    e->prev = e->next = NULL;
    e->key = Py_NewRef(key);
    e->value = stored;
    e->pickled = pickled;
    e->expires = self->ttl > 0 ? monotonic_now() + self->ttl : 0;
    /* Take out a previous entry first, so that the list and the dict agree
     * at every point where Python code may run. */
    PyObject *old = PyDict_GetItemWithError(self->entries, key);
    if (old) {
        Py_INCREF(old);
        lru_unlink((MemoEntry *)old);
        if (PyDict_DelItem(self->entries, key) < 0) {
            Py_DECREF(old);
            Py_DECREF(e);
            return NULL;
        }
        Py_DECREF(old);
    } else if (PyErr_Occurred()) {
        Py_DECREF(e);
        return NULL;
    }
    if (PyDict_SetItem(self->entries, key, (PyObject *)e) < 0) {
        Py_DECREF(e);
        return NULL;
    }
    /* SetItem may have run a finalizer that stored the same key again. */
    if (PyDict_GetItemWithError(self->entries, key) == (PyObject *)e && !e->prev)
        lru_push_front(self, e);
    Py_DECREF(e);
    while (self->maxsize > 0 && PyDict_GET_SIZE(self->entries) > self->maxsize &&
           self->root.prev != &self->root) {
        MemoEntry *last = self->root.prev;
        Py_INCREF(last);
        lru_unlink(last);
        int rc = PyDict_DelItem(self->entries, last->key);
        Py_DECREF(last);
        if (rc < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mt_delete(MemoTable *self, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(self->entries, key);
    if (!found) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_FALSE;
    }
    MemoEntry *e = (MemoEntry *)found;
    int live = e->expires == 0 || monotonic_now() < e->expires;
    Py_INCREF(e);
    lru_unlink(e);
    int rc = PyDict_DelItem(self->entries, key);
    Py_DECREF(e);
    if (rc < 0)
        return NULL;
    return PyBool_FromLong(live);
}

static PyObject *mt_clear(MemoTable *self, PyObject *unused)
{
    (void)unused;
    mt_unlink_all(self);
    PyDict_Clear(self->entries);
    Py_RETURN_NONE;
}

static Py_ssize_t mt_len(MemoTable *self)
{
    return PyDict_GET_SIZE(self->entries);
}

static PyObject *mt_backend(MemoTable *self, void *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString("memory");
}

static PyMethodDef mt_methods[] = {
    {"get", (PyCFunction)(void (*)(void))mt_get, METH_FASTCALL,
     "get(key, default=None): the live value (a copy of a mutable one)."},
    {"store", (PyCFunction)(void (*)(void))mt_store, METH_FASTCALL,
     "store(key, value): keep value (pickled unless immutable)."},
    {"delete", (PyCFunction)mt_delete, METH_O, "delete(key) -> True if a live entry was there."},
    {"clear", (PyCFunction)mt_clear, METH_NOARGS, "clear(): forget every entry."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef mt_getset[] = {
    {"backend", (getter)mt_backend, NULL, "Where the entries live: \"memory\" (this process).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods mt_as_sequence = {
    .sq_length = (lenfunc)mt_len,
};

static PyTypeObject MemoTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unicache._fastpath.MemoTable",
    .tp_basicsize = sizeof(MemoTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The in-process store of a @memoize function (LRU, optional TTL).",
    .tp_traverse = (traverseproc)mt_traverse,
    .tp_clear = (inquiry)mt_clear_refs,
    .tp_dealloc = (destructor)mt_dealloc,
    .tp_new = mt_new,
    .tp_methods = mt_methods,
    .tp_getset = mt_getset,
    .tp_as_sequence = &mt_as_sequence,
};

/* ------------------------------------------------------------ MemoCall */

typedef struct {
    WRAPPER_HEAD
    MemoTable *table;
} MemoCall;

static int mc_traverse(MemoCall *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    Py_VISIT(self->func);
    Py_VISIT(self->km);
    Py_VISIT(self->miss);
    Py_VISIT(self->table);
    return 0;
}

static int mc_clear(MemoCall *self)
{
    Py_CLEAR(self->dict);
    Py_CLEAR(self->func);
    Py_CLEAR(self->km);
    Py_CLEAR(self->miss);
    Py_CLEAR(self->table);
    return 0;
}

static void mc_dealloc(MemoCall *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    mc_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *mc_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    MemoCall *self = (MemoCall *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *key = km_table_key(self->km, args, nargs, kwnames);
    if (!key)
        return NULL;
    PyObject *out = mt_lookup(self->table, key);
    if (!out && !PyErr_Occurred())
        out = call_miss(self->miss, NULL, key, args, nargs, kwnames);
    Py_DECREF(key);
    return out;
}

/* MemoCall(func, keymaker, table, miss); miss(key, args, kwargs). */
static PyObject *mc_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    PyObject *func, *miss;
    KeyMaker *km;
    MemoTable *table;
    if (!PyArg_ParseTuple(args, "OO!O!O:MemoCall", &func, &KeyMakerType, &km, &MemoTableType,
                          &table, &miss))
        return NULL;
    MemoCall *self = (MemoCall *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = mc_vectorcall;
    self->func = Py_NewRef(func);
    self->km = (KeyMaker *)Py_NewRef((PyObject *)km);
    self->table = (MemoTable *)Py_NewRef((PyObject *)table);
    self->miss = Py_NewRef(miss);
    return (PyObject *)self;
}

static PyTypeObject MemoCallType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unicache._fastpath.MemoCall",
    .tp_basicsize = sizeof(MemoCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function decorated with @unicache.memoize.",
    .tp_vectorcall_offset = offsetof(MemoCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_dictoffset = offsetof(MemoCall, dict),
    .tp_weaklistoffset = offsetof(MemoCall, weakrefs),
    .tp_descr_get = wrapper_descr_get,
    .tp_traverse = (traverseproc)mc_traverse,
    .tp_clear = (inquiry)mc_clear,
    .tp_dealloc = (destructor)mc_dealloc,
    .tp_new = mc_new,
    .tp_methods = wrapper_methods,
    .tp_getset = wrapper_getset,
};

/* -------------------------------------------------------------- module */

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT,
    "unicache._fastpath",
    "The hit path of @cached and @memoize in C (see unicache._keys).",
    -1,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void)
{
    PyTypeObject *types[] = {&KeyMakerType, &CachedCallType, &MemoEntryType, &MemoTableType,
                             &MemoCallType};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (PyType_Ready(types[i]) < 0)
            return NULL;
    PyObject *m = PyModule_Create(&fastpath_module);
    if (!m)
        return NULL;
    NoDefault = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (!NoDefault || PyModule_AddObjectRef(m, "NoDefault", NoDefault) < 0 ||
        PyModule_AddObjectRef(m, "KeyMaker", (PyObject *)&KeyMakerType) < 0 ||
        PyModule_AddObjectRef(m, "CachedCall", (PyObject *)&CachedCallType) < 0 ||
        PyModule_AddObjectRef(m, "MemoTable", (PyObject *)&MemoTableType) < 0 ||
        PyModule_AddObjectRef(m, "MemoCall", (PyObject *)&MemoCallType) < 0 ||
        PyModule_AddIntConstant(m, "MAX_FAST_PARAMS", MAX_FAST_PARAMS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
