/*
 * A growable byte buffer and the MessagePack writers of _jsonbatch.c (everything here is
 * static).
 * Needs Python.h (PyMem_Realloc, PyErr_NoMemory, Py_ssize_t) and stdint.h first.
 */
#ifndef KV_MSGPACK_BUFFER_H
#define KV_MSGPACK_BUFFER_H

typedef struct {
    unsigned char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

/* Slow path of reserve(): grow to at least len + extra bytes. */
static int
buffer_grow(Buffer *b, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = b->len + extra;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        cap = cap > PY_SSIZE_T_MAX / 2 ? need : cap * 2;
    }
    unsigned char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* Make room for `extra` more bytes; returns 0, or -1 with MemoryError set. */
static inline int
reserve(Buffer *b, Py_ssize_t extra)
{
    if (b->cap - b->len >= extra) {
        return 0;
    }
    return buffer_grow(b, extra);
}

/* Unchecked writers: the caller has reserved the space. */
static inline void
put1(Buffer *b, unsigned char c)
{
    b->data[b->len++] = c;
}

/* A type byte followed by the low `size` bytes of v, big-endian. */
static inline void
put_tagged(Buffer *b, unsigned char tag, uint64_t v, int size)
{
    unsigned char *p = b->data + b->len;
    p[0] = tag;
    for (int i = size; i >= 1; i--) {
        p[i] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
    b->len += 1 + size;
}

/*
 * Header of a str, array or map of n elements.  `fix` is the fix-format base
 * (0xa0, 0x90, 0x80) and `fix_max` its largest count (31 or 15); `tag8` is the
 * 8-bit-length tag (str only, 0 otherwise), then the 16- and 32-bit tags.
 * At most 5 bytes: the caller reserves them.
 */
static inline void
put_header(Buffer *b, Py_ssize_t n, unsigned char fix, Py_ssize_t fix_max,
           unsigned char tag8, unsigned char tag16, unsigned char tag32)
{
    if (n <= fix_max) {
        put1(b, (unsigned char)(fix | n));
    }
    else if (tag8 && n <= 0xFF) {
        put_tagged(b, tag8, (uint64_t)n, 1);
    }
    else if (n <= 0xFFFF) {
        put_tagged(b, tag16, (uint64_t)n, 2);
    }
    else {
        put_tagged(b, tag32, (uint64_t)n, 4);
    }
}

/* The exact size of the header put_header() writes for a str of n bytes. */
static inline Py_ssize_t
str_header_size(Py_ssize_t n)
{
    return n < 32 ? 1 : n <= 0xFF ? 2 : n <= 0xFFFF ? 3 : 5;
}

/* msgpack of a negative int64, the encoding msgpack-python picks (at most 9 bytes, reserved). */
static inline void
put_negative(Buffer *b, int64_t x)
{
    /* Two's complement: the low bytes of a negative number are its
     * big-endian encoding in the narrower signed formats too. */
    if (x >= -32) {
        put1(b, (unsigned char)(x & 0xFF)); /* negative fixint 0xe0..0xff */
    }
    else if (x >= -128) {
        put_tagged(b, 0xd0, (uint64_t)x, 1);
    }
    else if (x >= -32768) {
        put_tagged(b, 0xd1, (uint64_t)x, 2);
    }
    else if (x >= -2147483648LL) {
        put_tagged(b, 0xd2, (uint64_t)x, 4);
    }
    else {
        put_tagged(b, 0xd3, (uint64_t)x, 8);
    }
}

/* msgpack of a non-negative int up to 2**64 - 1, as msgpack-python picks (at most 9 bytes). */
static inline void
put_unsigned(Buffer *b, uint64_t u)
{
    if (u < 0x80) {
        put1(b, (unsigned char)u); /* positive fixint */
    }
    else if (u <= 0xFF) {
        put_tagged(b, 0xcc, u, 1);
    }
    else if (u <= 0xFFFF) {
        put_tagged(b, 0xcd, u, 2);
    }
    else if (u <= 0xFFFFFFFFULL) {
        put_tagged(b, 0xce, u, 4);
    }
    else {
        put_tagged(b, 0xcf, u, 8);
    }
}

#endif /* KV_MSGPACK_BUFFER_H */
