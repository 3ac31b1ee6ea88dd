/*
 * mask.c: secret redaction by value and by header name.
 */
#include "mask.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/*
 * Matching by decoding. A needle is a secret or one of its base64 forms,
 * as bytes. Output text is walked once; at each position the text is read
 * through a decoder that takes "%2f" and "%2F" (percent-encoding, any
 * case), "+" for a space (form encoding) and "\/", "\"", "\u00e9" (JSON
 * escapes) as the bytes they stand for, and plain bytes as themselves, so
 * raw, encoded, partly encoded and mixed-case forms of a needle all match.
 * Needles are chained by their first byte: a position costs one table
 * look-up unless a needle can start there.
 */
struct needle {
	unsigned char *s;
	size_t len;
	int next; /* the next needle with the same first byte, or -1 */
};

struct ac_mask {
	struct needle *needles;
	size_t n, alloc;
	int head[256]; /* first needle starting with each byte, or -1 */
	/* The characters a match can start at, a bit each: merged with the
	 * parents' in four word operations on every apply. */
	uint64_t start[4];
	const struct ac_mask *parent; /* consulted too (a run's mask: the plan's) */
};

struct ac_mask *ac_mask_create(void)
{
	struct ac_mask *m = ac_calloc(1, sizeof(struct ac_mask));
	for (size_t i = 0; i < AC_ARRAY_LEN(m->head); i++)
		m->head[i] = -1;
	return m;
}

struct ac_mask *ac_mask_create_scoped(const struct ac_mask *parent)
{
	struct ac_mask *m = ac_mask_create();
	m->parent = parent;
	return m;
}

void ac_mask_destroy(struct ac_mask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->needles[i].s);
	free(m->needles);
	free(m);
}

static void start_set(uint64_t start[4], unsigned char c)
{
	start[c >> 6] |= (uint64_t)1 << (c & 63);
}

static bool start_has(const uint64_t start[4], unsigned char c)
{
	return (start[c >> 6] >> (c & 63)) & 1;
}

static void add_needle(struct ac_mask *m, const char *s, size_t len)
{
	if (!s || !len)
		return;
	unsigned char first = (unsigned char)s[0];
	for (int i = m->head[first]; i >= 0; i = m->needles[i].next)
		if (m->needles[i].len == len && memcmp(m->needles[i].s, s, len) == 0)
			return;
	AC_GROW(m->needles, m->n + 1, m->alloc);
	struct needle *nd = &m->needles[m->n];
	nd->s = ac_malloc(len + 1);
	memcpy(nd->s, s, len);
	nd->s[len] = '\0';
	nd->len = len;
	nd->next = m->head[first];
	m->head[first] = (int)m->n;
	start_set(m->start, first);
	start_set(m->start, '%');
	start_set(m->start, '\\');
	start_set(m->start, '&');
	if (first == ' ')
		start_set(m->start, '+');
	m->n++;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding. */
static char *base64(const unsigned char *p, size_t len)
{
	struct ac_buf b = AC_BUF_INIT;
	size_t i;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = {b64_std[v >> 18], b64_std[(v >> 12) & 63], b64_std[(v >> 6) & 63],
			     b64_std[v & 63]};
		ac_buf_add(&b, q, 4);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4] = {b64_std[v >> 18], b64_std[(v >> 12) & 63], '=', '='};
		ac_buf_add(&b, q, 4);
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[4] = {b64_std[v >> 18], b64_std[(v >> 12) & 63], b64_std[(v >> 6) & 63],
			     '='};
		ac_buf_add(&b, q, 4);
	}
	return ac_buf_detach(&b);
}

/* A base64 text as needles: as it is, and in the URL-safe alphabet. */
static void add_b64_needle(struct ac_mask *m, const char *s, size_t len)
{
	add_needle(m, s, len);
	char *u = ac_strndup(s, len);
	for (char *p = u; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	add_needle(m, u, len);
	free(u);
}

/* The whole encoding, with and without padding. */
static void add_b64_whole(struct ac_mask *m, const unsigned char *s, size_t len)
{
	char *b = base64(s, len);
	size_t bl = strlen(b);
	add_b64_needle(m, b, bl);
	while (bl && b[bl - 1] == '=')
		bl--;
	add_b64_needle(m, b, bl);
	free(b);
}

#define AC_MASK_MIN_B64 4 /* shortest stable base64 middle kept as a needle */

static void add_base64_forms(struct ac_mask *m, const char *secret)
{
	const unsigned char *s = (const unsigned char *)secret;
	size_t len = strlen(secret);
	add_b64_whole(m, s, len);
	/* Inside a larger base64 text a secret starts at one of three byte
	 * offsets. Encode it behind 0-2 filler bytes and keep the characters
	 * made of secret bits only: character c holds bits 6c..6c+5. */
	unsigned char *buf = ac_malloc(len + 2);
	for (size_t shift = 0; shift < 3; shift++) {
		memset(buf, 'A', shift);
		memcpy(buf + shift, s, len);
		char *e = base64(buf, len + shift);
		size_t first = (shift * 8 + 5) / 6;  /* first char within the secret */
		size_t last_bit = (shift + len) * 8; /* bits before this are the secret's */
		size_t end = last_bit / 6;	     /* chars [first, end) */
		if (end > first && end - first >= AC_MASK_MIN_B64)
			add_b64_needle(m, e + first, end - first);
		free(e);
	}
	free(buf);
}

void ac_mask_add(struct ac_mask *m, const char *secret)
{
	if (!m || !secret || !*secret)
		return;
	add_needle(m, secret, strlen(secret));
	add_base64_forms(m, secret);
}

void ac_mask_add_pair(struct ac_mask *m, const char *user, const char *password)
{
	if (!m || !password || !*password)
		return;
	ac_mask_add(m, password);
	char *pair = ac_asprintf("%s:%s", user ? user : "", password);
	add_b64_whole(m, (const unsigned char *)pair, strlen(pair));
	free(pair);
}

size_t ac_mask_count(const struct ac_mask *m)
{
	return m ? m->n + ac_mask_count(m->parent) : 0;
}

static long hex4(const unsigned char *t, size_t n, size_t i)
{
	if (i + 4 > n)
		return -1;
	long v = 0;
	for (size_t k = 0; k < 4; k++) {
		int h = ac_hexval(t[i + k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static size_t utf8_put(unsigned char out[4], long cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* An HTML character reference at t[i] ("&amp;", "&#39;", "&#x27;"):
 * as decode_escape. Names: the ones an escaper writes for ASCII, in any
 * case. */
static size_t decode_html(const unsigned char *t, size_t n, size_t i, unsigned char out[4],
			  size_t *nout)
{
	static const struct {
		const char *name;
		char c;
	} names[] = {{"amp", '&'},   {"lt", '<'},     {"gt", '>'},    {"quot", '"'},
		     {"apos", '\''}, {"sol", '/'},    {"bsol", '\\'}, {"equals", '='},
		     {"num", '#'},   {"percnt", '%'}, {"plus", '+'},  {"colon", ':'}};
	size_t j = i + 1;
	if (j < n && t[j] == '#') {
		int base = 10;
		j++;
		if (j < n && (t[j] == 'x' || t[j] == 'X')) {
			base = 16;
			j++;
		}
		long cp = 0;
		size_t digits = 0;
		for (; j < n && digits < 8; j++, digits++) {
			int d = base == 16 ? ac_hexval(t[j])
					   : (t[j] >= '0' && t[j] <= '9' ? t[j] - '0' : -1);
			if (d < 0)
				break;
			cp = cp * base + d;
		}
		if (!digits || j >= n || t[j] != ';' || cp == 0 || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp < 0xe000))
			return 0;
		*nout = utf8_put(out, cp);
		return j + 1 - i;
	}
	for (size_t k = 0; k < AC_ARRAY_LEN(names); k++) {
		size_t len = strlen(names[k].name);
		if (j + len < n && t[j + len] == ';' &&
		    strncasecmp((const char *)t + j, names[k].name, len) == 0) {
			out[0] = (unsigned char)names[k].c;
			*nout = 1;
			return len + 2;
		}
	}
	return 0;
}

/* The escape at t[i] ("%XX", a JSON backslash escape or an HTML character
 * reference): the bytes it stands for in out (*nout of them); returns the
 * characters it takes, 0 when t[i] starts no escape. */
static size_t decode_escape(const unsigned char *t, size_t n, size_t i, unsigned char out[4],
			    size_t *nout)
{
	*nout = 1;
	if (t[i] == '&')
		return decode_html(t, n, i, out, nout);
	if (t[i] == '%') {
		if (i + 2 >= n || ac_hexval(t[i + 1]) < 0 || ac_hexval(t[i + 2]) < 0)
			return 0;
		out[0] = (unsigned char)(ac_hexval(t[i + 1]) << 4 | ac_hexval(t[i + 2]));
		return 3;
	}
	if (t[i] != '\\' || i + 1 >= n)
		return 0;
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k = t[i + 1] ? strchr(from, t[i + 1]) : NULL;
	if (k) {
		out[0] = (unsigned char)to[k - from];
		return 2;
	}
	if (t[i + 1] != 'u')
		return 0;
	long cp = hex4(t, n, i + 2);
	if (cp < 0)
		return 0;
	size_t used = 6;
	if (cp >= 0xd800 && cp < 0xdc00 && i + 7 < n && t[i + 6] == '\\' && t[i + 7] == 'u') {
		long lo = hex4(t, n, i + 8);
		if (lo >= 0xdc00 && lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			used = 12;
		}
	}
	*nout = utf8_put(out, cp);
	return used;
}

/* The length of the text at t[i] that decodes to the needle, or 0. */
static size_t match_at(const unsigned char *t, size_t n, size_t i, const struct needle *nd)
{
	const unsigned char *s = nd->s;
	size_t j = i, k = 0;
	while (k < nd->len) {
		if (j >= n)
			return 0;
		unsigned char c = t[j];
		if (c == s[k] && c != '%' && c != '\\' && c != '&') {
			j++;
			k++;
			continue;
		}
		if (c == '%' || c == '\\' || c == '&') {
			unsigned char d[4];
			size_t nd_bytes, used = decode_escape(t, n, j, d, &nd_bytes);
			if (used && k + nd_bytes <= nd->len && memcmp(d, s + k, nd_bytes) == 0) {
				j += used;
				k += nd_bytes;
				continue;
			}
		} else if (c == '+' && s[k] == ' ') {
			j++;
			k++;
			continue;
		}
		if (c != s[k])
			return 0;
		j++;
		k++;
	}
	return j - i;
}

static size_t longest_from(const struct ac_mask *m, int head, const unsigned char *t, size_t n,
			   size_t i)
{
	size_t best = 0;
	for (int k = head; k >= 0; k = m->needles[k].next) {
		size_t l = match_at(t, n, i, &m->needles[k]);
		if (l > best)
			best = l;
	}
	return best;
}

/* The longest span at t[i] that decodes to one of m's needles (0: none). */
static size_t longest_at(const struct ac_mask *m, const unsigned char *t, size_t n, size_t i)
{
	unsigned char c = t[i];
	size_t best = 0;
	if (m->head[c] >= 0)
		best = longest_from(m, m->head[c], t, n, i);
	if (c == '%' || c == '\\' || c == '&') {
		unsigned char d[4];
		size_t nb;
		if (decode_escape(t, n, i, d, &nb) && m->head[d[0]] >= 0) {
			size_t l = longest_from(m, m->head[d[0]], t, n, i);
			best = l > best ? l : best;
		}
	} else if (c == '+' && m->head[' '] >= 0) {
		size_t l = longest_from(m, m->head[' '], t, n, i);
		best = l > best ? l : best;
	}
	return best;
}

/* Replace every span of text that decodes to a needle; overlapping spans
 * become one AC_MASK_TEXT. With out NULL, only whether there is one. */
static bool mask_needles(const struct ac_mask *m, const unsigned char *t, size_t n,
			 struct ac_buf *out)
{
	uint64_t start[4] = {0, 0, 0, 0};
	for (const struct ac_mask *k = m; k; k = k->parent)
		for (size_t w = 0; w < 4; w++)
			start[w] |= k->start[w];
	size_t copied = 0, span_start = 0, span_end = 0;
	bool open = false;
	for (size_t i = 0; i < n; i++) {
		while (i < n && !start_has(start, t[i]))
			i++;
		if (i == n)
			break;
		/* This mask's needles and its parents', in the same pass. */
		size_t best = 0;
		for (const struct ac_mask *k = m; k; k = k->parent) {
			size_t l = k->n ? longest_at(k, t, n, i) : 0;
			best = l > best ? l : best;
		}
		if (!best)
			continue;
		if (!out)
			return true;
		if (open && i < span_end) {
			if (i + best > span_end)
				span_end = i + best;
			continue;
		}
		if (open) {
			ac_buf_add(out, t + copied, span_start - copied);
			ac_buf_adds(out, AC_MASK_TEXT);
			copied = span_end;
		}
		open = true;
		span_start = i;
		span_end = i + best;
	}
	if (!out)
		return false;
	if (open) {
		ac_buf_add(out, t + copied, span_start - copied);
		ac_buf_adds(out, AC_MASK_TEXT);
		copied = span_end;
	}
	ac_buf_add(out, t + copied, n - copied);
	return open;
}

/* Mask "scheme://user:password@" and "password=value" forms. */
static void mask_credentials(struct ac_buf *b)
{
	struct ac_buf out = AC_BUF_INIT;
	const char *s = b->buf;
	size_t i = 0, len = b->len, copied = 0;
	while (i < len) {
		char c = s[i];
		if (c != ':' && c != 'p' && c != 'P') {
			i++;
			continue;
		}
		if (c == ':' && i + 2 < len && s[i + 1] == '/' && s[i + 2] == '/') {
			/* userinfo: up to '@' before any '/', '?', '#' or space */
			size_t j = i + 3, at = 0, colon = 0;
			while (j < len && !strchr("/?# \t\n\"'", s[j])) {
				if (s[j] == '@')
					at = j;
				if (s[j] == ':' && !colon && !at)
					colon = j;
				j++;
			}
			if (at && colon && colon < at) {
				ac_buf_add(&out, s + copied, colon + 1 - copied);
				ac_buf_adds(&out, AC_MASK_TEXT);
				i = copied = at;
				continue;
			}
		}
		if (c != ':' && (i == 0 || !isalnum((unsigned char)s[i - 1])) && len - i > 9 &&
		    strncasecmp(s + i, "password=", 9) == 0) {
			ac_buf_add(&out, s + copied, i + 9 - copied);
			ac_buf_adds(&out, AC_MASK_TEXT);
			i += 9;
			if (i < len && (s[i] == '\'' || s[i] == '"')) {
				char q = s[i++];
				while (i < len && s[i] != q)
					i++;
				if (i < len)
					i++;
			} else {
				while (i < len && !strchr(" &;\t\n", s[i]))
					i++;
			}
			copied = i;
			continue;
		}
		i++;
	}
	if (copied == 0) {
		ac_buf_release(&out);
		return; /* nothing to mask: keep b as it is */
	}
	ac_buf_add(&out, s + copied, len - copied);
	ac_buf_release(b);
	*b = out;
}

/* Whether mask_credentials would change s (len bytes): the same two
 * forms, found through memchr of ':' and '=' instead of a look at every
 * character ("password=" is the 8 bytes before an '='). */
static bool has_credentials(const char *s, size_t len)
{
	for (const char *p = s; (p = memchr(p, ':', len - (size_t)(p - s))); p++) {
		size_t i = (size_t)(p - s);
		if (i + 2 >= len || s[i + 1] != '/' || s[i + 2] != '/')
			continue;
		size_t j = i + 3, at = 0, colon = 0;
		while (j < len && !strchr("/?# \t\n\"'", s[j])) {
			if (s[j] == '@')
				at = j;
			if (s[j] == ':' && !colon && !at)
				colon = j;
			j++;
		}
		if (at && colon && colon < at)
			return true;
	}
	for (const char *p = s; (p = memchr(p, '=', len - (size_t)(p - s))); p++) {
		size_t e = (size_t)(p - s);
		if (e < 8 || e + 1 >= len)
			continue;
		size_t i = e - 8;
		if ((i == 0 || !isalnum((unsigned char)s[i - 1])) &&
		    strncasecmp(s + i, "password", 8) == 0)
			return true;
	}
	return false;
}

/* Whether masking would change text (len bytes). The same matching as
 * ac_mask_applyn, stopping at the first span: the common case (nothing to
 * hide) then costs one scan and no copy. */
static bool mask_would_change(const struct ac_mask *m, const char *text, size_t len)
{
	if (ac_mask_count(m) && mask_needles(m, (const unsigned char *)text, len, NULL))
		return true;
	return has_credentials(text, len);
}

char *ac_mask_applyn(const struct ac_mask *m, const char *text, size_t len)
{
	struct ac_buf b = AC_BUF_INIT;
	if (!text)
		return ac_buf_detach(&b);
	if (!mask_would_change(m, text, len))
		return ac_strndup(text, len);
	if (ac_mask_count(m))
		mask_needles(m, (const unsigned char *)text, len, &b);
	else
		ac_buf_add(&b, text, len);
	mask_credentials(&b);
	return ac_buf_detach(&b);
}

void ac_mask_inplace(const struct ac_mask *m, char **text)
{
	if (!*text || !mask_would_change(m, *text, strlen(*text)))
		return;
	char *masked = ac_mask_apply(m, *text);
	free(*text);
	*text = masked;
}

char *ac_mask_apply(const struct ac_mask *m, const char *text)
{
	return ac_mask_applyn(m, text, text ? strlen(text) : 0);
}

char *ac_mask_excerpt(const struct ac_mask *m, const char *text, size_t len, size_t max)
{
	if (text && !mask_would_change(m, text, len))
		return ac_excerpt(text, strnlen(text, len), max); /* what the copy would give */
	char *masked = ac_mask_applyn(m, text, len);
	char *ex = ac_excerpt(masked, strlen(masked), max);
	free(masked);
	return ex;
}

bool ac_mask_header_is_secret(const char *name)
{
	static const char *const names[] = {
	    "authorization", "proxy-authorization", "cookie",	    "set-cookie", "x-api-key",
	    "x-auth-token",  "x-csrf-token",	    "x-xsrf-token", "api-key",	  "x-access-token",
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

char *ac_mask_header_value(const struct ac_mask *m, const char *name, const char *value)
{
	if (ac_mask_header_is_secret(name))
		return ac_strdup(AC_MASK_TEXT);
	return ac_mask_apply(m, value);
}

char *ac_mask_dsn(const char *dsn)
{
	return ac_mask_apply(NULL, dsn);
}
