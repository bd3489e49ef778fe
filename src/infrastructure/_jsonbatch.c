/*
 * infrastructure._jsonbatch: the body of POST /api/write straight to MessagePack.
 *
 * transcode_pairs() has one job: the "data" object of pairs in, keys and packed
 * pairs out, checked against the limits it is given (BatchLimits, passed in by
 * infrastructure/codec.py).  It reads the raw JSON body once and, for each member
 * of "data", writes the MessagePack of the key and of the value into a scratch
 * buffer; it builds no Python object for the values, only the key str and one
 * bytes object per pair.  The body's other members (options such as "mode") are
 * only checked as JSON and handed back as raw JSON for Python to read, so new
 * options need no change here.  The output is byte-identical to the slow path:
 *
 *     data = json.loads(body)["data"]
 *     msgspec.msgpack.encode(key) + msgspec.msgpack.encode(value)
 *
 * It never raises for bad data.  Whenever the body is anything but a clean,
 * valid, unambiguous case it returns None and the caller takes the slow path
 * (the JSON parser, the schema and the checks), which gives the precise error or copes
 * with the odd case.  So every doubt below is settled by rejecting: duplicate
 * member names anywhere, lone surrogates, integers outside 64 bits (MessagePack
 * cannot hold them), and so on.  Exceptions are kept for wrong argument types
 * and for MemoryError.
 *
 * The parser is iterative (an explicit stack, at most 1024 levels like orjson),
 * so no body can exhaust the C stack.  While it runs, no Python code can run
 * (nor change the body under it): it allocates with PyMem, makes str and bytes
 * objects and appends them to two lists made beforehand; none of that can start
 * the garbage collector (only making a container object can) or a finalizer.
 *
 * C99; nothing beyond Python.h and the C standard library.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Results of the internal functions. */
#define TR_OK 0
#define TR_REJECT 1 /* not a clean case: transcode_pairs returns None */
#define TR_ERROR -1 /* a Python exception is set (MemoryError) */

/* orjson refuses a document nested more than 1024 containers deep. */
#define DOC_DEPTH_LIMIT 1024
/* msgpack-python limit on the length of a str, list or dict: 2**32 - 1. */
#define ITEM_LIMIT 0xFFFFFFFFLL
/* Linear probes allowed per name in the duplicate check (see has_duplicate). */
#define PROBE_LIMIT 64

/* ---- a growable byte buffer (_msgpack_buffer.h) ---------------------------------------- */

#include "_msgpack_buffer.h"

/* Grow a PyMem array of `item` bytes per element to hold at least `need` elements. */
static int
grow_array(void **data, Py_ssize_t *cap, Py_ssize_t need, size_t item)
{
    if (need <= *cap) {
        return 0;
    }
    Py_ssize_t new_cap = *cap ? *cap : 64;
    while (new_cap < need) {
        new_cap *= 2;
    }
    if ((size_t)new_cap > PY_SSIZE_T_MAX / item) {
        PyErr_NoMemory();
        return -1;
    }
    void *grown = PyMem_Realloc(*data, (size_t)new_cap * item);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *data = grown;
    *cap = new_cap;
    return 0;
}

/* ---- parser state ------------------------------------------------------------------- */

/* A member name, unescaped: `len` bytes at offset `off` of the buffer its object uses. */
typedef struct {
    Py_ssize_t off;
    Py_ssize_t len;
} Name;

/* An open array or object inside a value. */
typedef struct {
    Py_ssize_t header; /* offset in out of the one byte reserved for its header */
    Py_ssize_t count;  /* elements or members so far */
    Py_ssize_t names;  /* objects: index in names of its first member name */
    int is_object;
} Frame;

/* A container of more than 15 elements, whose header needs more than its one byte. */
typedef struct {
    Py_ssize_t pos;
    Py_ssize_t count;
    int is_object;
} Fixup;

/* A slot of the duplicate check's hash table: index + 1 of a name (0: empty). */
typedef struct {
    uint32_t index;
    uint32_t hash;
} Slot;

/* Everything one transcode_pairs call uses; the arrays grow as needed (PyMem). */
typedef struct {
    const unsigned char *p;   /* the cursor */
    const unsigned char *end; /* the end of the body */
    /* msgpack of the value being transcoded */
    Buffer out;
    /* unescaped names of the top object's and of "data"'s members */
    Buffer text;
    /* names of the members of every open object, innermost last */
    Name *names;
    Py_ssize_t n_names, names_cap;
    /* the open containers of the value being transcoded */
    Frame *frames;
    Py_ssize_t frames_cap;
    /* its containers of more than 15 elements, in the order they closed */
    Fixup *fixups;
    Py_ssize_t n_fixups, fixups_cap;
    Py_ssize_t extra; /* bytes the pending fixups will add to out */
    /* the hash table of has_duplicate() */
    Slot *table;
    Py_ssize_t table_cap;
} Parser;

static void
parser_free(Parser *P)
{
    PyMem_Free(P->out.data);
    PyMem_Free(P->text.data);
    PyMem_Free(P->names);
    PyMem_Free(P->frames);
    PyMem_Free(P->fixups);
    PyMem_Free(P->table);
}

static inline void
skip_ws(Parser *P)
{
    const unsigned char *p = P->p, *end = P->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    P->p = p;
}

/* Skip white space, then true if the next byte is c (the cursor stays on it). */
static inline int
next_is(Parser *P, unsigned char c)
{
    skip_ws(P);
    return P->p < P->end && *P->p == c;
}

static int
push_name(Parser *P, Py_ssize_t off, Py_ssize_t len)
{
    if (grow_array((void **)&P->names, &P->names_cap, P->n_names + 1, sizeof(Name)) < 0) {
        return -1;
    }
    P->names[P->n_names].off = off;
    P->names[P->n_names].len = len;
    P->n_names++;
    return 0;
}

/* ---- duplicate member names ----------------------------------------------------------- */

/* A quick hash of n bytes, 8 at a time (the duplicate check compares the bytes anyway). */
static uint64_t
hash_bytes(const unsigned char *s, Py_ssize_t n)
{
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL;
    uint64_t w = 0;
    if (n >= 8) {
        const unsigned char *last8 = s + n - 8;
        for (; s < last8; s += 8) {
            memcpy(&w, s, 8);
            h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
            h ^= h >> 31;
        }
        /* The last 8 bytes, overlapping what came before: a fixed-size load (a
         * copy of the n % 8 bytes left would stall on the store). */
        memcpy(&w, last8, 8);
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            w |= (uint64_t)s[i] << (8 * i);
        }
    }
    /* Then a full mix (splitmix64's finalizer): the table uses the low bits,
     * and names often differ only in their last bytes, i.e. the high bits of w. */
    h ^= w;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

static inline int
same_name(const unsigned char *base, const Name *a, const Name *b)
{
    return a->len == b->len && memcmp(base + a->off, base + b->off, (size_t)a->len) == 0;
}

/*
 * Whether two of the n names (their bytes in base) are equal: TR_REJECT if so,
 * or if unsure, TR_OK if not, TR_ERROR on MemoryError.  Small objects compare
 * every pair; larger ones use an open-addressing table at most a quarter full.
 * Names crafted to collide in the hash could make the probing quadratic, so a
 * name that needs more than PROBE_LIMIT probes gives up (TR_REJECT, the slow
 * path then does the job): random names essentially never get there at that
 * load.
 */
static int
has_duplicate(Parser *P, const unsigned char *base, const Name *names, Py_ssize_t n)
{
    if (n <= 16) {
        for (Py_ssize_t i = 1; i < n; i++) {
            for (Py_ssize_t j = 0; j < i; j++) {
                if (same_name(base, &names[i], &names[j])) {
                    return TR_REJECT;
                }
            }
        }
        return TR_OK;
    }
    if (n >= (Py_ssize_t)UINT32_MAX / 8) {
        return TR_REJECT;
    }
    Py_ssize_t size = 64;
    while (size < 4 * n) {
        size *= 2;
    }
    if (grow_array((void **)&P->table, &P->table_cap, size, sizeof(Slot)) < 0) {
        return TR_ERROR;
    }
    Slot *table = P->table;
    memset(table, 0, (size_t)size * sizeof(Slot));
    size_t mask = (size_t)size - 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = hash_bytes(base + names[i].off, names[i].len);
        uint32_t tag = (uint32_t)(h >> 32);
        size_t slot = (size_t)h & mask;
        for (int probes = 0; table[slot].index != 0; probes++) {
            if (probes >= PROBE_LIMIT) {
                return TR_REJECT;
            }
            if (table[slot].hash == tag &&
                same_name(base, &names[i], &names[table[slot].index - 1])) {
                return TR_REJECT;
            }
            slot = (slot + 1) & mask;
        }
        table[slot].index = (uint32_t)(i + 1);
        table[slot].hash = tag;
    }
    return TR_OK;
}

/* ---- strings ------------------------------------------------------------------------ */

/*
 * Bytes that need a look of their own inside a string: below 0x20 (an error),
 * '"', '\\' and 0x80 and above (UTF-8 sequences).  special_bytes(w) has the
 * high bit of each such byte of w set.  Per byte b < 0x80, b + 0x60 reaches
 * 0x80 exactly when b >= 0x20, and x + 0x7F exactly when x != 0; none of these
 * sums carries into the next byte unless b >= 0x80, which is flagged anyway: so
 * the lowest flagged byte is always a special one (bytes above it may be false
 * alarms, which only cost a look).
 */
static inline uint64_t
special_bytes(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t printable = w + ones * 0x60;
    uint64_t not_quote = (w ^ (ones * '"')) + ones * 0x7F;
    uint64_t not_slash = (w ^ (ones * '\\')) + ones * 0x7F;
    return (w | ~(printable & not_quote & not_slash)) & highs;
}

/*
 * Where the first special byte of the 8 at p is, given its mask (not 0); with
 * GCC or Clang on a little-endian machine the first byte in memory is the lowest
 * of the word and a bit scan finds it, elsewhere 0 (the caller then goes byte by
 * byte: just slower).
 */
static inline int
first_special(uint64_t mask)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_ctzll(mask) >> 3;
#else
    (void)mask;
    return 0;
#endif
}

/* The value of 4 hex digits at p (the caller checked that they are there), or -1. */
static inline long
hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        }
        else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        }
        else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        }
        else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/*
 * Check the string whose opening quote is at the cursor: strict JSON (no raw
 * control characters, only the standard escapes, surrogate escapes in valid
 * pairs) over strict UTF-8 (no overlong forms, surrogates, code points past
 * U+10FFFF or truncated sequences).  TR_OK with *close at the closing quote,
 * *size the length of the unescaped UTF-8 and *escaped whether it has any
 * escape; the cursor is not moved.  TR_REJECT otherwise.
 */
static int
scan_string(const Parser *P, const unsigned char **close, Py_ssize_t *size, int *escaped)
{
    const unsigned char *p = P->p + 1, *end = P->end;
    Py_ssize_t shrink = 0; /* raw bytes minus unescaped bytes, over all escapes */
    *escaped = 0;
    for (;;) {
        /* Skip plain bytes 16, then 8 at a time. */
        while (end - p >= 16) {
            uint64_t w0, w1;
            memcpy(&w0, p, 8);
            memcpy(&w1, p + 8, 8);
            uint64_t m0 = special_bytes(w0), m1 = special_bytes(w1);
            if ((m0 | m1) != 0) {
                p += m0 != 0 ? first_special(m0) : 8 + first_special(m1);
                goto look;
            }
            p += 16;
        }
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t mask = special_bytes(w);
            if (mask != 0) {
                p += first_special(mask);
                break;
            }
            p += 8;
        }
    look:
        if (p >= end) {
            return TR_REJECT;
        }
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return TR_REJECT;
        }
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) {
                return TR_REJECT;
            }
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                shrink += 1;
                p += 2;
                continue;
            case 'u':
                break;
            default:
                return TR_REJECT;
            }
            long cp = end - p >= 6 ? hex4(p + 2) : -1;
            if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
                return TR_REJECT; /* bad hex, or a low surrogate on its own */
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate: a low one must follow, making 4 bytes of UTF-8. */
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u') {
                    return TR_REJECT;
                }
                long low = hex4(p + 8);
                if (low < 0xDC00 || low > 0xDFFF) {
                    return TR_REJECT;
                }
                shrink += 12 - 4;
                p += 12;
                continue;
            }
            shrink += 6 - (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3);
            p += 6;
            continue;
        }
        /* A UTF-8 sequence of 2 to 4 bytes (RFC 3629, table 3-7 of Unicode). */
        Py_ssize_t left = end - p;
        if (c >= 0xC2 && c <= 0xDF) {
            if (left < 2 || (p[1] & 0xC0) != 0x80) {
                return TR_REJECT;
            }
            p += 2;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            /* E0: no overlong form (A0..BF); ED: no surrogate (80..9F). */
            unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (left < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) {
                return TR_REJECT;
            }
            p += 3;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            /* F0: no overlong form (90..BF); F4: nothing past U+10FFFF (80..8F). */
            unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (left < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80) {
                return TR_REJECT;
            }
            p += 4;
        }
        else {
            return TR_REJECT; /* 80..C1 (continuation, overlong lead) or F5..FF */
        }
    }
    *close = p;
    *size = (p - (P->p + 1)) - shrink;
    return TR_OK;
}

/* Append UTF-8 for code point cp (below 0x110000, not a surrogate). */
static inline unsigned char *
put_utf8(unsigned char *d, unsigned long cp)
{
    if (cp < 0x80) {
        *d++ = (unsigned char)cp;
    }
    else if (cp < 0x800) {
        *d++ = (unsigned char)(0xC0 | (cp >> 6));
        *d++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *d++ = (unsigned char)(0xE0 | (cp >> 12));
        *d++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    else {
        *d++ = (unsigned char)(0xF0 | (cp >> 18));
        *d++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/*
 * Unescape the string body [s, close), which scan_string() accepted, into d;
 * returns the end of what was written.  Each escape is at least as long as what
 * it stands for, so at most close - s bytes are written whatever the input.
 */
static unsigned char *
unescape(unsigned char *d, const unsigned char *s, const unsigned char *close)
{
    while (s < close) {
        const unsigned char *slash = memchr(s, '\\', (size_t)(close - s));
        if (slash == NULL) {
            slash = close;
        }
        memcpy(d, s, (size_t)(slash - s));
        d += slash - s;
        s = slash;
        if (s >= close) {
            break;
        }
        unsigned char c = s[1];
        if (c != 'u') {
            *d++ = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r'
                 : c == 't' ? '\t' : c; /* '"', '\\' and '/' stand for themselves */
            s += 2;
            continue;
        }
        unsigned long cp = (unsigned long)hex4(s + 2);
        s += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned long low = (unsigned long)hex4(s + 2);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            s += 6;
        }
        d = put_utf8(d, cp);
    }
    return d;
}

/*
 * Read the string at the cursor into b as its unescaped UTF-8, preceded by a
 * msgpack str header when `header` is set; *off is where the text starts in b
 * and *size its length.  The cursor moves past the closing quote.  `limit`
 * bounds b->len - start, where start is the value's offset in b (for the
 * max_value_bytes check), `extra` bytes to come already counted.
 */
static int
read_string(Parser *P, Buffer *b, int header, Py_ssize_t *off, Py_ssize_t *size,
            Py_ssize_t start, Py_ssize_t limit)
{
    const unsigned char *close;
    int escaped;
    int rc = scan_string(P, &close, size, &escaped);
    if (rc != TR_OK) {
        return rc;
    }
    Py_ssize_t n = *size;
    if (n > ITEM_LIMIT) {
        return TR_REJECT;
    }
    Py_ssize_t head = header ? str_header_size(n) : 0;
    if ((b->len - start) + P->extra + head + n > limit) {
        return TR_REJECT; /* before copying it */
    }
    const unsigned char *s = P->p + 1;
    /* close - s >= n: see unescape(). */
    if (reserve(b, head + (close - s)) < 0) {
        return TR_ERROR;
    }
    if (header) {
        put_header(b, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
    }
    *off = b->len;
    if (escaped) {
        unsigned char *d = unescape(b->data + b->len, s, close);
        if (d - (b->data + b->len) != n) {
            return TR_REJECT; /* the body changed under us: cannot happen */
        }
    }
    else {
        memcpy(b->data + b->len, s, (size_t)n);
    }
    b->len += n;
    P->p = close + 1;
    return TR_OK;
}

/* ---- numbers ------------------------------------------------------------------------ */

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* msgpack of an int in [-2**63, 2**64 - 1], the smallest encoding (as msgspec and msgpack-python pick). */
static void
put_int(Buffer *b, int negative, uint64_t magnitude)
{
    if (negative && magnitude != 0) {
        /* -magnitude as int64 without overflow (magnitude <= 2**63). */
        int64_t x = -(int64_t)(magnitude - 1) - 1;
        put_negative(b, x);
        return;
    }
    put_unsigned(b, magnitude); /* -0 is the int 0, like orjson */
}

/* Exact powers of ten for the fast path of parse_double. */
static const double POW10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * The double nearest to the number token [start, end) (valid JSON, with a
 * fraction or an exponent).  TR_REJECT when it is infinite.
 *
 * Fast path (Clinger): a significand below 2**53 and a power of ten up to
 * 10**22 are both exact doubles, so one IEEE multiplication or division gives
 * the correctly rounded result; this needs arithmetic in plain double
 * precision (FLT_EVAL_METHOD 0, true of SSE2 and of every 64-bit target).
 * Otherwise PyOS_string_to_double (David Gay's correctly rounded strtod,
 * independent of the locale) on a NUL-terminated copy.
 */
static int
parse_double(const unsigned char *start, const unsigned char *end, double *result)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    {
        const unsigned char *p = start;
        int negative = *p == '-';
        p += negative;
        uint64_t m = 0;
        int digits = 0; /* digits in m, leading zeros included */
        long scale = 0; /* decimal exponent to apply to m */
        for (; p < end && is_digit(*p); p++, digits++) {
            m = m * 10 + (uint64_t)(*p - '0');
        }
        if (p < end && *p == '.') {
            for (p++; p < end && is_digit(*p); p++, digits++) {
                m = m * 10 + (uint64_t)(*p - '0');
                scale--;
            }
        }
        int exponent_ok = 1;
        if (p < end) { /* 'e' or 'E' */
            p++;
            int exp_negative = *p == '-';
            p += *p == '-' || *p == '+';
            long e = 0;
            for (; p < end; p++) {
                if (e > 100000) {
                    exponent_ok = 0; /* far out of range: the slow path decides */
                    break;
                }
                e = e * 10 + (*p - '0');
            }
            scale += exp_negative ? -e : e;
        }
        /* digits <= 19 keeps m exact in 64 bits. */
        if (exponent_ok && digits <= 19 && m <= (1ULL << 53)) {
            double d = (double)m;
            if (m == 0) {
                *result = negative ? -0.0 : 0.0;
                return TR_OK;
            }
            if (scale >= -22 && scale <= 22) {
                d = scale < 0 ? d / POW10[-scale] : d * POW10[scale];
                *result = negative ? -d : d;
                return TR_OK;
            }
        }
    }
#endif
    char small[64];
    size_t n = (size_t)(end - start);
    char *copy = n < sizeof small ? small : PyMem_Malloc(n + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return TR_ERROR;
    }
    memcpy(copy, start, n);
    copy[n] = '\0';
    char *stop;
    double d = PyOS_string_to_double(copy, &stop, NULL);
    int rc = TR_OK;
    if (d == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            rc = TR_ERROR;
        }
        else {
            PyErr_Clear();
            rc = TR_REJECT;
        }
    }
    else if (stop != copy + n || isinf(d) || isnan(d)) {
        rc = TR_REJECT; /* without an overflow exception, overflow gives +-inf */
    }
    if (copy != small) {
        PyMem_Free(copy);
    }
    *result = d;
    return rc;
}

/*
 * The number at the cursor (strict JSON grammar) as msgpack into b: an int when
 * it has neither fraction nor exponent (TR_REJECT outside [-2**63, 2**64 - 1]),
 * a float64 otherwise (TR_REJECT when infinite).
 */
static int
read_number(Parser *P, Buffer *b)
{
    const unsigned char *start = P->p, *p = P->p, *end = P->end;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end || !is_digit(*p)) {
        return TR_REJECT;
    }
    const unsigned char *digits = p;
    if (*p == '0') {
        p++; /* no leading zeros: a digit after this one ends the number */
    }
    else {
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    const unsigned char *int_end = p;
    int is_float = 0;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) {
            return TR_REJECT;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
        is_float = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || !is_digit(*p)) {
            return TR_REJECT;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
        is_float = 1;
    }
    if (reserve(b, 9) < 0) {
        return TR_ERROR;
    }
    if (is_float) {
        double d;
        int rc = parse_double(start, p, &d);
        if (rc != TR_OK) {
            return rc;
        }
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits); /* keeps -0.0 */
        put_tagged(b, 0xcb, bits, 8);
    }
    else {
        /* Without leading zeros, more than 20 digits is past 2**64 - 1. */
        if (int_end - digits > 20) {
            return TR_REJECT;
        }
        uint64_t u = 0;
        for (const unsigned char *q = digits; q < int_end; q++) {
            uint64_t d = (uint64_t)(*q - '0');
            if (u > (UINT64_MAX - d) / 10) {
                return TR_REJECT; /* orjson would make it a float */
            }
            u = u * 10 + d;
        }
        if (negative && u > (1ULL << 63)) {
            return TR_REJECT;
        }
        put_int(b, negative, u);
    }
    P->p = p;
    return TR_OK;
}

/* ---- values ------------------------------------------------------------------------- */

/* Write the header of the container of frame f, now closed; see apply_fixups(). */
static int
close_container(Parser *P, const Frame *f)
{
    if (f->count <= 15) {
        P->out.data[f->header] = (unsigned char)((f->is_object ? 0x80 : 0x90) | f->count);
        return TR_OK;
    }
    if (f->count > ITEM_LIMIT) {
        return TR_REJECT;
    }
    if (grow_array((void **)&P->fixups, &P->fixups_cap, P->n_fixups + 1, sizeof(Fixup)) < 0) {
        return TR_ERROR;
    }
    Fixup *x = &P->fixups[P->n_fixups++];
    x->pos = f->header;
    x->count = f->count;
    x->is_object = f->is_object;
    P->extra += f->count <= 0xFFFF ? 2 : 4;
    return TR_OK;
}

static int
fixup_by_pos_desc(const void *a, const void *b)
{
    Py_ssize_t x = ((const Fixup *)a)->pos, y = ((const Fixup *)b)->pos;
    return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The count of a container is known only at its end, and the header of one of
 * more than 15 elements takes 3 or 5 bytes instead of the 1 reserved.  Rather
 * than move the rest of the value at each such container (quadratic on deep
 * nests of big containers), they are listed and the whole value is widened
 * once, from its end backwards, each segment moving by the growth of all the
 * headers before it.
 */
static int
apply_fixups(Parser *P)
{
    if (P->n_fixups == 0) {
        return TR_OK;
    }
    if (reserve(&P->out, P->extra) < 0) {
        return TR_ERROR;
    }
    qsort(P->fixups, (size_t)P->n_fixups, sizeof(Fixup), fixup_by_pos_desc);
    unsigned char *d = P->out.data;
    Py_ssize_t end = P->out.len, shift = P->extra;
    for (Py_ssize_t i = 0; i < P->n_fixups; i++) {
        const Fixup *x = &P->fixups[i];
        /* Everything after this header byte moves right by `shift`... */
        memmove(d + x->pos + 1 + shift, d + x->pos + 1, (size_t)(end - x->pos - 1));
        /* ...and the header, now 1 + grow bytes, ends just before it. */
        shift -= x->count <= 0xFFFF ? 2 : 4;
        Buffer at = {d + x->pos + shift, 0, 5};
        if (x->is_object) {
            put_header(&at, x->count, 0x80, 15, 0, 0xde, 0xdf);
        }
        else {
            put_header(&at, x->count, 0x90, 15, 0, 0xdc, 0xdd);
        }
        end = x->pos;
    }
    P->out.len += P->extra;
    P->extra = 0;
    P->n_fixups = 0;
    return TR_OK;
}

/*
 * Transcode the JSON value at the cursor into P->out, appended at offset
 * `start`.  Containers may nest `max_level` levels (the value itself, if a
 * container, is level 1); the msgpack, pending fixups included, may take
 * `limit` bytes.  Every object's names are checked for duplicates at its end.
 * Fixups are left pending: the caller applies or drops them.
 */
static int
transcode_value(Parser *P, Py_ssize_t max_level, Py_ssize_t start, Py_ssize_t limit)
{
    Buffer *out = &P->out;
    Py_ssize_t depth = 0; /* open containers */
    Frame *f;
    int rc;

value:
    skip_ws(P);
    if (P->p >= P->end) {
        return TR_REJECT;
    }
    switch (*P->p) {
    case '{':
    case '[': {
        if (depth >= max_level) {
            return TR_REJECT;
        }
        if (grow_array((void **)&P->frames, &P->frames_cap, depth + 1, sizeof(Frame)) < 0 ||
            reserve(out, 1) < 0) {
            return TR_ERROR;
        }
        f = &P->frames[depth++];
        f->is_object = *P->p == '{';
        f->count = 0;
        f->names = P->n_names;
        f->header = out->len++; /* filled in at the end */
        P->p++;
        if (next_is(P, f->is_object ? '}' : ']')) {
            P->p++;
            goto close;
        }
        if (f->is_object) {
            goto member;
        }
        goto value;
    }
    case '"': {
        Py_ssize_t off, size;
        rc = read_string(P, out, 1, &off, &size, start, limit);
        break;
    }
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        static const unsigned char codes[] = {0xc3, 0xc2, 0xc0};
        int w = *P->p == 't' ? 0 : *P->p == 'f' ? 1 : 2;
        size_t n = strlen(words[w]);
        if ((size_t)(P->end - P->p) < n || memcmp(P->p, words[w], n) != 0) {
            return TR_REJECT;
        }
        if (reserve(out, 1) < 0) {
            return TR_ERROR;
        }
        put1(out, codes[w]);
        P->p += n;
        rc = TR_OK;
        break;
    }
    default:
        rc = read_number(P, out);
        break;
    }
    if (rc != TR_OK) {
        return rc;
    }

next: /* a value has ended: the top one, or an element or member of frames[depth - 1] */
    if ((out->len - start) + P->extra > limit) {
        return TR_REJECT;
    }
    if (depth == 0) {
        return TR_OK;
    }
    f = &P->frames[depth - 1];
    f->count++;
    skip_ws(P);
    if (P->p >= P->end) {
        return TR_REJECT;
    }
    {
        unsigned char c = *P->p++;
        if (c == ',') {
            if (f->is_object) {
                goto member;
            }
            goto value;
        }
        if (c != (f->is_object ? '}' : ']')) {
            return TR_REJECT;
        }
    }

close: /* frames[depth - 1] has just ended */
    f = &P->frames[depth - 1];
    if (f->is_object) {
        rc = has_duplicate(P, out->data, P->names + f->names, P->n_names - f->names);
        if (rc != TR_OK) {
            return rc;
        }
        P->n_names = f->names;
    }
    rc = close_container(P, f);
    if (rc != TR_OK) {
        return rc;
    }
    depth--;
    goto next;

member: /* a member name, then its value, of the object frames[depth - 1] */
    if (!next_is(P, '"')) {
        return TR_REJECT;
    }
    {
        Py_ssize_t off, size;
        rc = read_string(P, out, 1, &off, &size, start, limit);
        if (rc != TR_OK) {
            return rc;
        }
        if (push_name(P, off, size) < 0) {
            return TR_ERROR;
        }
    }
    if (!next_is(P, ':')) {
        return TR_REJECT;
    }
    P->p++;
    goto value;
}

/* ---- the document ------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t max_items, max_key_bytes, max_value_bytes, max_depth;
    PyObject *keys;  /* list of str */
    PyObject *pairs; /* list of bytes: msgpack of the key, then of its value */
    Buffer rest;     /* the other top-level members, as a JSON object ("" if none) */
} Request;

/* Read a member name at the cursor (after white space) into P->text, and the ':'. */
static int
read_name(Parser *P, Py_ssize_t *off, Py_ssize_t *size)
{
    if (!next_is(P, '"')) {
        return TR_REJECT;
    }
    int rc = read_string(P, &P->text, 0, off, size, 0, PY_SSIZE_T_MAX);
    if (rc != TR_OK) {
        return rc;
    }
    if (push_name(P, *off, *size) < 0) {
        return TR_ERROR;
    }
    if (!next_is(P, ':')) {
        return TR_REJECT;
    }
    P->p++;
    return TR_OK;
}

/* After a member of an object read by hand: ',' (returns 1), '}' (0) or else (-1). */
static int
more_members(Parser *P)
{
    skip_ws(P);
    if (P->p < P->end) {
        unsigned char c = *P->p++;
        if (c == ',') {
            return 1;
        }
        if (c == '}') {
            return 0;
        }
    }
    return -1;
}

static int
append_new(PyObject *list, PyObject *item)
{
    if (item == NULL) {
        return -1;
    }
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

/* The "data" object at the cursor: its keys and the msgpack of its values. */
static int
read_data(Parser *P, Request *R)
{
    /* The object is at document level 2: its values' containers start at 3. */
    Py_ssize_t max_level = R->max_depth < DOC_DEPTH_LIMIT - 2 ? R->max_depth
                                                              : DOC_DEPTH_LIMIT - 2;
    Py_ssize_t first = P->n_names, count = 0;
    P->p++; /* '{' */
    if (next_is(P, '}')) {
        return TR_REJECT; /* empty */
    }
    int more;
    do {
        Py_ssize_t off, size;
        int rc = read_name(P, &off, &size);
        if (rc != TR_OK) {
            return rc;
        }
        if (size == 0 || size > R->max_key_bytes || ++count > R->max_items) {
            return TR_REJECT;
        }
        /* The key's msgpack, then the value's (the limit counts the value only). */
        P->out.len = 0;
        if (reserve(&P->out, 5 + size) < 0) {
            return TR_ERROR;
        }
        put_header(&P->out, size, 0xa0, 31, 0xd9, 0xda, 0xdb);
        memcpy(P->out.data + P->out.len, P->text.data + off, (size_t)size);
        P->out.len += size;
        rc = transcode_value(P, max_level, P->out.len, R->max_value_bytes);
        if (rc == TR_OK) {
            rc = apply_fixups(P);
        }
        if (rc != TR_OK) {
            return rc;
        }
        /* The name is valid UTF-8 without surrogates: decoding cannot fail but
         * for MemoryError. */
        if (append_new(R->keys, PyUnicode_DecodeUTF8((const char *)P->text.data + off, size,
                                                     NULL)) < 0 ||
            append_new(R->pairs, PyBytes_FromStringAndSize((const char *)P->out.data,
                                                           P->out.len)) < 0) {
            return TR_ERROR;
        }
        more = more_members(P);
    } while (more > 0);
    if (more < 0) {
        return TR_REJECT;
    }
    int rc = has_duplicate(P, P->text.data, P->names + first, P->n_names - first);
    P->n_names = first;
    return rc;
}

static int
is_name(const Parser *P, Py_ssize_t off, Py_ssize_t size, const char *name)
{
    return (size_t)size == strlen(name) && memcmp(P->text.data + off, name, (size_t)size) == 0;
}

/* Copy the member [start, end) of the top object into R->rest, a JSON object of its own. */
static int
keep_member(Request *R, const unsigned char *start, const unsigned char *end)
{
    if (reserve(&R->rest, 2 + (end - start)) < 0) {
        return TR_ERROR;
    }
    put1(&R->rest, R->rest.len ? ',' : '{');
    memcpy(R->rest.data + R->rest.len, start, (size_t)(end - start));
    R->rest.len += end - start;
    return TR_OK;
}

/* The whole body: one object with "data"; its other members are copied to R->rest. */
static int
read_document(Parser *P, Request *R)
{
    if (!next_is(P, '{')) {
        return TR_REJECT;
    }
    P->p++;
    if (next_is(P, '}')) {
        return TR_REJECT; /* no "data" */
    }
    int seen_data = 0, rc, more;
    do {
        Py_ssize_t off, size;
        skip_ws(P);
        const unsigned char *start = P->p;
        rc = read_name(P, &off, &size);
        if (rc != TR_OK) {
            return rc;
        }
        skip_ws(P);
        if (is_name(P, off, size, "data")) {
            if (seen_data || !next_is(P, '{')) {
                return TR_REJECT;
            }
            seen_data = 1;
            rc = read_data(P, R);
        }
        else {
            /* Checked as JSON by transcoding it (the result is dropped), then copied.
             * The member is at document level 2. */
            P->out.len = 0;
            rc = transcode_value(P, DOC_DEPTH_LIMIT - 1, 0, PY_SSIZE_T_MAX);
            P->out.len = 0;
            P->n_fixups = 0;
            P->extra = 0;
            if (rc == TR_OK) {
                rc = keep_member(R, start, P->p);
            }
        }
        if (rc != TR_OK) {
            return rc;
        }
        more = more_members(P);
    } while (more > 0);
    if (more < 0) {
        return TR_REJECT;
    }
    rc = has_duplicate(P, P->text.data, P->names, P->n_names);
    if (rc != TR_OK) {
        return rc;
    }
    skip_ws(P);
    if (P->p != P->end || !seen_data) {
        return TR_REJECT;
    }
    if (R->rest.len && reserve(&R->rest, 1) < 0) {
        return TR_ERROR;
    }
    if (R->rest.len) {
        put1(&R->rest, '}');
    }
    return TR_OK;
}

PyDoc_STRVAR(transcode_pairs_doc,
"transcode_pairs(body, max_items, max_key_bytes, max_value_bytes, max_depth)\n"
"--\n"
"\n"
"Turn the JSON body of a batch write (a bytes-like object holding one object\n"
"with a \"data\" object of pairs) into (keys, pairs, rest): the keys of\n"
"\"data\" in order as str; for each, one bytes object with the msgpack of the\n"
"key followed by the msgpack of its value, byte-identical to msgspec.msgpack\n"
"over the parsed JSON; and the body's other members as the bytes of a JSON\n"
"object, or None when there are none.\n"
"\n"
"Returns None for anything but a clean case: invalid JSON (RFC 8259, strict\n"
"UTF-8), duplicate member names in any object, lone surrogate escapes, no\n"
"\"data\" object or an empty one, more than max_items keys, an empty key or one\n"
"over max_key_bytes of UTF-8, values nested over max_depth levels or any\n"
"nesting past 1024, integers outside [-2**63, 2**64 - 1], infinite floats, a\n"
"packed value over max_value_bytes.");

static PyObject *
transcode_pairs(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *body;
    Request R = {0};
    if (!PyArg_ParseTuple(args, "Onnnn:transcode_pairs", &body, &R.max_items,
                          &R.max_key_bytes, &R.max_value_bytes, &R.max_depth)) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    R.keys = PyList_New(0);
    R.pairs = PyList_New(0);
    int rc;
    if (R.keys == NULL || R.pairs == NULL) {
        rc = TR_ERROR;
    }
    else if (view.len == 0) {
        rc = TR_REJECT; /* (and view.buf may then be NULL, not to be offset) */
    }
    else {
        Parser P;
        memset(&P, 0, sizeof P);
        P.p = view.buf;
        P.end = P.p + view.len;
        /* Both buffers are allocated from the start: no NULL pointer to offset or to
         * pass to memcpy, even for empty strings. */
        rc = TR_ERROR;
        if (reserve(&P.out, 1) == 0 && reserve(&P.text, 1) == 0) {
            rc = read_document(&P, &R);
        }
        parser_free(&P);
    }
    PyBuffer_Release(&view);
    PyObject *rest = NULL;
    if (rc == TR_OK) {
        rest = R.rest.len ? PyBytes_FromStringAndSize((const char *)R.rest.data, R.rest.len)
                          : Py_NewRef(Py_None);
        rc = rest == NULL ? TR_ERROR : TR_OK;
    }
    PyMem_Free(R.rest.data);
    if (rc != TR_OK) {
        Py_XDECREF(R.keys);
        Py_XDECREF(R.pairs);
        if (rc == TR_ERROR) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(NNN)", R.keys, R.pairs, rest);
}

static PyMethodDef jsonbatch_methods[] = {
    {"transcode_pairs", transcode_pairs, METH_VARARGS, transcode_pairs_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"The JSON body of a batch write straight to MessagePack, without building Python\n"
"objects for the values; None sends the caller to the slow path.");

static struct PyModuleDef jsonbatch_module = {
    PyModuleDef_HEAD_INIT,
    "kv_api.infrastructure._jsonbatch",
    module_doc,
    0,
    jsonbatch_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__jsonbatch(void)
{
    return PyModule_Create(&jsonbatch_module);
}
