/*
 * infrastructure._batchcodec: the write path's hot loop in C.
 *
 * encode_values() validates a whole write batch and packs every value in one
 * pass.  Its MessagePack output is byte-identical to
 * msgpack.Packer(autoreset=True, use_bin_type=True).pack for every value
 * orjson.loads can produce.  It never raises for bad data: any item that breaks
 * a rule makes it return None, and the caller re-runs its pure-Python checks,
 * which raise the precise error.  Exceptions are kept for wrong argument types
 * and for MemoryError.
 *
 * join_tuples() then makes the storage tuples: head + msgpack(key) + packed.
 *
 * has_long_digit_run() tells whether a JSON body may hold an integer wider than
 * 64 bits (20 digits in a row, or a '-' and 19 digits), which orjson would turn
 * into a float.
 *
 * C99; nothing beyond Python.h and the C standard library.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* Results of the internal encoders. */
#define ENC_OK 0
#define ENC_REJECT 1 /* the data breaks a rule: the caller returns None */
#define ENC_ERROR -1 /* a Python exception is set (MemoryError) */

/* msgpack-python limits, mirrored so that we never accept what it refuses. */
#define ITEM_LIMIT 0xFFFFFFFFLL /* longest str, list or dict: 2**32 - 1 */
/* msgpack-python's Packer raises "recursion limit exceeded" for any object nested
 * inside more than 1024 containers.  Callers pass max_depth <= 1024, so this never
 * bites them, but it also bounds our C recursion whatever the max_depth argument.
 *
 * About mutation while we iterate: encode_values allocates only bytes objects,
 * which the garbage collector does not track, and runs no Python code except to
 * raise an exception on a path that stops iterating at once.  Still, to stay
 * safe whatever runs, each pair's key and value are held by a reference of our
 * own while they are used, and the item count is checked so that a resized dict
 * can never make us write past the end. */
#define MSGPACK_NEST_LIMIT 1024

/* A growable byte buffer (one per encode_values call, reused for every item) and the
 * MessagePack header writers. */
#include "_msgpack_buffer.h"

/* Everything the recursive encoder needs besides the object and its depth. */
typedef struct {
    Buffer buf;
    Py_ssize_t value_start;     /* offset in buf where the current value begins */
    Py_ssize_t max_value_bytes; /* limit on buf.len - value_start */
    Py_ssize_t max_depth;       /* deepest allowed container level (top value = 1) */
} Encoder;

/* True when the value being encoded, plus `more` bytes, is over max_value_bytes. */
static inline int
too_big(const Encoder *e, Py_ssize_t more)
{
    /* Both sides are sizes of memory already held or about to be: no overflow. */
    return (e->buf.len - e->value_start) + more > e->max_value_bytes;
}

/*
 * Get the UTF-8 of a str: ENC_OK with data and size set, ENC_REJECT for a lone
 * surrogate (or a string msgpack-python would find too large), ENC_ERROR with
 * an exception otherwise.  The pointer is the str's own cached UTF-8 (for ASCII
 * strings, its data): no copy.
 */
static int
utf8_of(PyObject *s, const char **data, Py_ssize_t *size)
{
    *data = PyUnicode_AsUTF8AndSize(s, size);
    if (*data == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return ENC_REJECT;
        }
        return ENC_ERROR;
    }
    return *size > ITEM_LIMIT ? ENC_REJECT : ENC_OK;
}

/* Append msgpack(s) for an exact str s. */
static int
encode_str(Encoder *e, PyObject *s)
{
    const char *utf8;
    Py_ssize_t n;
    int rc = utf8_of(s, &utf8, &n);
    if (rc != ENC_OK) {
        return rc;
    }
    Py_ssize_t header = str_header_size(n);
    /* Refuse an oversized value before copying it, not after. */
    if (too_big(e, header + n)) {
        return ENC_REJECT;
    }
    if (reserve(&e->buf, header + n) < 0) {
        return ENC_ERROR;
    }
    put_header(&e->buf, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
    memcpy(e->buf.data + e->buf.len, utf8, (size_t)n);
    e->buf.len += n;
    return ENC_OK;
}

/* Append msgpack(v) for an exact int, choosing the encoding msgpack-python does. */
static int
encode_int(Encoder *e, PyObject *v)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    uint64_t u;
    if (overflow == 0) {
        if (x == -1 && PyErr_Occurred()) {
            return ENC_ERROR;
        }
        if (reserve(&e->buf, 9) < 0) {
            return ENC_ERROR;
        }
        if (x < 0) {
            put_negative(&e->buf, (int64_t)x);
            return ENC_OK;
        }
        u = (uint64_t)x;
    }
    else if (overflow > 0) {
        /* Above 2**63 - 1: still fine up to 2**64 - 1 as a uint64. */
        unsigned long long ull = PyLong_AsUnsignedLongLong(v);
        if (ull == (unsigned long long)-1 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                PyErr_Clear();
                return ENC_REJECT;
            }
            return ENC_ERROR;
        }
        if (reserve(&e->buf, 9) < 0) {
            return ENC_ERROR;
        }
        u = (uint64_t)ull;
    }
    else {
        return ENC_REJECT; /* below -2**63 */
    }
    put_unsigned(&e->buf, u);
    return ENC_OK;
}

/* Append msgpack(v) for an exact float: always float64, big-endian. */
static int
encode_float(Encoder *e, PyObject *v)
{
    double d = PyFloat_AS_DOUBLE(v);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits); /* keeps -0.0 and every bit pattern */
    if (reserve(&e->buf, 9) < 0) {
        return ENC_ERROR;
    }
    put_tagged(&e->buf, 0xcb, bits, 8);
    return ENC_OK;
}

static int encode_value(Encoder *e, PyObject *v, Py_ssize_t depth);

/*
 * Append msgpack of a list or dict at container level `level` (the top-level
 * value is level 1).  Its children are encoded at depth `level`, so the C
 * recursion is never deeper than max_depth + 1 frames (nor than the msgpack
 * nest limit + 1).
 */
static int
encode_list(Encoder *e, PyObject *v, Py_ssize_t level)
{
    Py_ssize_t n = PyList_GET_SIZE(v);
    if (n > ITEM_LIMIT) {
        return ENC_REJECT;
    }
    if (reserve(&e->buf, 5) < 0) {
        return ENC_ERROR;
    }
    put_header(&e->buf, n, 0x90, 15, 0, 0xdc, 0xdd);
    /* The list cannot change under us (see the top of the file); still, re-read
     * its size rather than trust n. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        int rc = encode_value(e, PyList_GET_ITEM(v, i), level);
        if (rc != ENC_OK) {
            return rc;
        }
        if (too_big(e, 0)) {
            return ENC_REJECT; /* stop early on a huge value */
        }
    }
    return ENC_OK;
}

static int
encode_dict(Encoder *e, PyObject *v, Py_ssize_t level)
{
    Py_ssize_t n = PyDict_GET_SIZE(v);
    if (n > ITEM_LIMIT) {
        return ENC_REJECT;
    }
    if (reserve(&e->buf, 5) < 0) {
        return ENC_ERROR;
    }
    put_header(&e->buf, n, 0x80, 15, 0, 0xde, 0xdf);
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    while (PyDict_Next(v, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key)) {
            return ENC_REJECT;
        }
        int rc = encode_str(e, key);
        if (rc == ENC_OK) {
            rc = encode_value(e, item, level);
        }
        if (rc != ENC_OK) {
            return rc;
        }
        if (too_big(e, 0)) {
            return ENC_REJECT;
        }
    }
    return ENC_OK;
}

/* Append msgpack(v); `depth` is the number of containers v sits in. */
static int
encode_value(Encoder *e, PyObject *v, Py_ssize_t depth)
{
    if (depth > MSGPACK_NEST_LIMIT) {
        return ENC_REJECT; /* msgpack-python: "recursion limit exceeded" */
    }
    /* Singletons first: bool is a subclass of int, so it must come before it. */
    if (v == Py_None || v == Py_False || v == Py_True) {
        if (reserve(&e->buf, 1) < 0) {
            return ENC_ERROR;
        }
        put1(&e->buf, v == Py_None ? 0xc0 : v == Py_False ? 0xc2 : 0xc3);
        return ENC_OK;
    }
    if (PyUnicode_CheckExact(v)) {
        return encode_str(e, v);
    }
    if (PyLong_CheckExact(v)) {
        return encode_int(e, v);
    }
    if (PyFloat_CheckExact(v)) {
        return encode_float(e, v);
    }
    int is_list = PyList_CheckExact(v);
    if (is_list || PyDict_CheckExact(v)) {
        Py_ssize_t level = depth + 1; /* this container's level */
        if (level > e->max_depth) {
            return ENC_REJECT;
        }
        return is_list ? encode_list(e, v, level) : encode_dict(e, v, level);
    }
    return ENC_REJECT; /* tuple, bytes, subclasses, anything else */
}

PyDoc_STRVAR(encode_values_doc,
"encode_values(items, max_key_bytes, max_value_bytes, max_depth)\n"
"--\n"
"\n"
"Check the keys and values of the dict `items` and pack the values: a list of\n"
"msgpack(value) in dict order (bytes only: no object the garbage collector\n"
"tracks), byte-identical to msgpack-python's Packer(use_bin_type=True),\n"
"or None when any pair breaks a rule: an empty key, a key or string that is not\n"
"valid Unicode, a key over max_key_bytes of UTF-8, containers nested deeper than\n"
"max_depth levels, an integer outside [-2**63, 2**64 - 1], a packed value over\n"
"max_value_bytes, or any type orjson does not produce.");

/* A valid key's UTF-8: ENC_OK, ENC_REJECT (empty, not Unicode, too long) or ENC_ERROR. */
static int
key_utf8(PyObject *key, Py_ssize_t max_key_bytes, const char **utf8, Py_ssize_t *size)
{
    if (!PyUnicode_CheckExact(key) || PyUnicode_GET_LENGTH(key) == 0) {
        return ENC_REJECT;
    }
    int rc = utf8_of(key, utf8, size);
    if (rc == ENC_OK && *size > max_key_bytes) {
        return ENC_REJECT;
    }
    return rc;
}

/* Check one pair and put msgpack(value) into result[i]. */
static int
encode_pair(Encoder *e, PyObject *key, PyObject *value, Py_ssize_t max_key_bytes,
            PyObject *result, Py_ssize_t i, Py_ssize_t count)
{
    const char *utf8;
    Py_ssize_t key_size;
    int rc = key_utf8(key, max_key_bytes, &utf8, &key_size);
    if (rc != ENC_OK) {
        return rc;
    }
    e->buf.len = 0;
    e->value_start = 0;
    rc = encode_value(e, value, 0);
    if (rc == ENC_OK && too_big(e, 0)) {
        rc = ENC_REJECT;
    }
    if (rc != ENC_OK) {
        return rc;
    }
    if (i >= count) {
        /* Cannot happen (see the top of the file), but never write past the end. */
        PyErr_SetString(PyExc_RuntimeError, "dict changed size during encoding");
        return ENC_ERROR;
    }
    PyObject *packed = PyBytes_FromStringAndSize((const char *)e->buf.data, e->buf.len);
    if (packed == NULL) {
        return ENC_ERROR;
    }
    PyList_SET_ITEM(result, i, packed); /* steals the reference */
    return ENC_OK;
}

static PyObject *
encode_values(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *items;
    Py_ssize_t max_key_bytes;
    Encoder e;
    if (!PyArg_ParseTuple(args, "O!nnn:encode_values", &PyDict_Type, &items, &max_key_bytes,
                          &e.max_value_bytes, &e.max_depth)) {
        return NULL;
    }
    /* O! accepts subclasses; the rules want exactly a dict. */
    if (!PyDict_CheckExact(items)) {
        PyErr_SetString(PyExc_TypeError, "encode_values() items must be a dict");
        return NULL;
    }
    Py_ssize_t count = PyDict_GET_SIZE(items);
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        return NULL;
    }
    e.buf.data = NULL;
    e.buf.len = e.buf.cap = 0;

    int rc = ENC_OK;
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(items, &pos, &key, &value)) {
        /* Held by references of our own while used (see the top of the file). */
        Py_INCREF(key);
        Py_INCREF(value);
        rc = encode_pair(&e, key, value, max_key_bytes, result, i, count);
        Py_DECREF(value);
        Py_DECREF(key);
        if (rc != ENC_OK) {
            break;
        }
        i++;
    }
    PyMem_Free(e.buf.data);

    if (rc == ENC_OK && i != count) {
        PyErr_SetString(PyExc_RuntimeError, "dict changed size during encoding");
        rc = ENC_ERROR;
    }
    if (rc != ENC_OK) {
        Py_DECREF(result); /* also frees the bytes already made; NULL slots are fine */
        if (rc == ENC_ERROR) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return result;
}

PyDoc_STRVAR(join_tuples_doc,
"join_tuples(head, keys, values)\n"
"--\n"
"\n"
"head + msgpack(keys[i]) + values[i] for each i, as one bytes object each (a\n"
"storage tuple ready for box_replace). None when a key is not a str that\n"
"encodes as UTF-8, a value is not bytes, or the lists differ in length.");

static PyObject *
join_tuples(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *head, *keys, *values;
    if (!PyArg_ParseTuple(args, "O!O!O!:join_tuples", &PyBytes_Type, &head, &PyList_Type,
                          &keys, &PyList_Type, &values)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(keys);
    if (PyList_GET_SIZE(values) != count) {
        Py_RETURN_NONE;
    }
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        return NULL;
    }
    const char *head_data = PyBytes_AS_STRING(head);
    Py_ssize_t head_size = PyBytes_GET_SIZE(head);
    for (Py_ssize_t i = 0; i < count; i++) {
        /* Only bytes objects are made here (untracked by the garbage collector) and
         * no Python code runs, so neither list can change under us. */
        PyObject *key = PyList_GET_ITEM(keys, i);
        PyObject *packed = PyList_GET_ITEM(values, i);
        if (!PyUnicode_CheckExact(key) || !PyBytes_CheckExact(packed)) {
            Py_DECREF(result);
            Py_RETURN_NONE;
        }
        const char *utf8;
        Py_ssize_t key_size;
        int rc = utf8_of(key, &utf8, &key_size);
        if (rc != ENC_OK) {
            Py_DECREF(result);
            if (rc == ENC_ERROR) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
        Py_ssize_t value_size = PyBytes_GET_SIZE(packed);
        Py_ssize_t key_header = str_header_size(key_size);
        PyObject *tuple =
            PyBytes_FromStringAndSize(NULL, head_size + key_header + key_size + value_size);
        if (tuple == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        Buffer out = {(unsigned char *)PyBytes_AS_STRING(tuple), 0, PyBytes_GET_SIZE(tuple)};
        memcpy(out.data, head_data, (size_t)head_size);
        out.len = head_size;
        put_header(&out, key_size, 0xa0, 31, 0xd9, 0xda, 0xdb);
        memcpy(out.data + out.len, utf8, (size_t)key_size);
        out.len += key_size;
        memcpy(out.data + out.len, PyBytes_AS_STRING(packed), (size_t)value_size);
        PyList_SET_ITEM(result, i, tuple); /* steals the reference */
    }
    return result;
}

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

PyDoc_STRVAR(has_long_digit_run_doc,
"has_long_digit_run(data)\n"
"--\n"
"\n"
"True if the bytes-like `data` holds 20 ASCII digits in a row, or a '-'\n"
"immediately followed by 19 digits: an integer that may not fit in 64 bits.");

/*
 * Either pattern contains 19 digits in a row, so a byte that is not a digit
 * rules out every run through it: the next run of 19 cannot end before 19 bytes
 * further on, and only that byte needs looking at (the idea of Boyer-Moore's bad
 * character rule).  On a digit, measure the run around it and decide.  Each byte
 * is read at most about twice; typical JSON is read one byte in nineteen.
 */
static PyObject *
has_long_digit_run(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *p = view.buf;
    const Py_ssize_t n = view.len;
    int found = 0;
    Py_ssize_t i = 18; /* the last byte of the first possible run of 19 */
    while (i < n) {
        if (!is_digit(p[i])) {
            i += 19;
            continue;
        }
        /* Backwards to the start of the run: this stops at the byte that sent
         * us here (a non-digit) at the latest, or at the start of the data. */
        Py_ssize_t start = i;
        while (start > 0 && is_digit(p[start - 1])) {
            start--;
        }
        /* Forwards to its end, no further than 20 digits are needed. */
        Py_ssize_t end = i + 1;
        while (end < n && end - start < 20 && is_digit(p[end])) {
            end++;
        }
        Py_ssize_t run = end - start;
        if (run >= 20 || (run == 19 && start > 0 && p[start - 1] == '-')) {
            found = 1;
            break;
        }
        /* p[end] is not a digit (or the data ends there): skip past it. */
        i = end + 19;
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyMethodDef batchcodec_methods[] = {
    {"encode_values", encode_values, METH_VARARGS, encode_values_doc},
    {"join_tuples", join_tuples, METH_VARARGS, join_tuples_doc},
    {"has_long_digit_run", has_long_digit_run, METH_O, has_long_digit_run_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"The write path's hot loop in C.\n"
"\n"
"encode_values validates a write batch and packs each value, byte-identical to\n"
"msgpack-python; it returns None when any pair breaks a rule so that the\n"
"caller's pure-Python checks can raise the precise error.  join_tuples builds\n"
"the storage tuples.  has_long_digit_run spots integers that may be wider than\n"
"64 bits in a JSON body.");

static struct PyModuleDef batchcodec_module = {
    PyModuleDef_HEAD_INIT,
    "infrastructure._batchcodec",
    module_doc,
    0,
    batchcodec_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__batchcodec(void)
{
    return PyModule_Create(&batchcodec_module);
}
