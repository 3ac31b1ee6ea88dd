/*
 * mask.c: secret redaction by value and by header name.
 */
#include "mask.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct ac_mask {
	char **needles; /* every encoded form of every secret, longest first */
	size_t n, alloc;
};

struct ac_mask *ac_mask_create(void)
{
	return ac_calloc(1, sizeof(struct ac_mask));
}

void ac_mask_destroy(struct ac_mask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->needles[i]);
	free(m->needles);
	free(m);
}

static void add_needle(struct ac_mask *m, const char *s)
{
	if (!s || !*s)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->needles[i], s) == 0)
			return;
	AC_GROW(m->needles, m->n + 1, m->alloc);
	/* Keep longest first so a secret that contains another is replaced whole. */
	size_t len = strlen(s), i = m->n;
	while (i > 0 && strlen(m->needles[i - 1]) < len) {
		m->needles[i] = m->needles[i - 1];
		i--;
	}
	m->needles[i] = ac_strdup(s);
	m->n++;
}

static char *url_encode(const char *s)
{
	struct ac_buf b = AC_BUF_INIT;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			ac_buf_addc(&b, (char)c);
		else
			ac_buf_addf(&b, "%%%02X", c);
	}
	return ac_buf_detach(&b);
}

static char *base64(const char *s, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct ac_buf b = AC_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t i;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
		ac_buf_add(&b, q, 4);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
		ac_buf_add(&b, q, 4);
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
		ac_buf_add(&b, q, 4);
	}
	return ac_buf_detach(&b);
}

static void add_base64_forms(struct ac_mask *m, const char *s)
{
	/* A secret inside a larger base64 text is encoded at one of three byte
	 * offsets; the stable middle of each is what can be found. */
	char *b = base64(s, strlen(s));
	size_t bl = strlen(b);
	while (bl && b[bl - 1] == '=')
		b[--bl] = '\0';
	add_needle(m, b);
	free(b);
	size_t len = strlen(s);
	if (len < 6)
		return;
	for (int shift = 1; shift <= 2; shift++) {
		char *pre = ac_malloc(len + 3);
		memset(pre, 'A', (size_t)shift);
		memcpy(pre + shift, s, len + 1);
		char *e = base64(pre, len + (size_t)shift);
		/* Drop the characters that mix in the padding bytes at both ends. */
		size_t el = strlen(e), skip = (size_t)shift == 1 ? 4 : 4;
		size_t keep_end = el;
		while (keep_end && e[keep_end - 1] == '=')
			keep_end--;
		if (keep_end > skip + 4) {
			keep_end -= 2;
			char *mid = ac_strndup(e + skip, keep_end - skip);
			if (strlen(mid) >= 6)
				add_needle(m, mid);
			free(mid);
		}
		free(e);
		free(pre);
	}
}

void ac_mask_add(struct ac_mask *m, const char *secret)
{
	if (!m || !secret || !*secret)
		return;
	add_needle(m, secret);
	char *u = url_encode(secret);
	add_needle(m, u);
	free(u);
	add_base64_forms(m, secret);
}

void ac_mask_add_pair(struct ac_mask *m, const char *user, const char *password)
{
	if (!m || !password || !*password)
		return;
	ac_mask_add(m, password);
	char *pair = ac_asprintf("%s:%s", user ? user : "", password);
	char *b = base64(pair, strlen(pair));
	add_needle(m, b);
	free(b);
	free(pair);
}

size_t ac_mask_count(const struct ac_mask *m)
{
	return m ? m->n : 0;
}

/* Mask "scheme://user:password@" and "password=value" forms. */
static void mask_credentials(struct ac_buf *b)
{
	struct ac_buf out = AC_BUF_INIT;
	const char *s = b->buf;
	size_t i = 0, len = b->len;
	while (i < len) {
		if (s[i] == ':' && i + 2 < len && s[i + 1] == '/' && s[i + 2] == '/') {
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
				ac_buf_add(&out, s + i, colon + 1 - i);
				ac_buf_adds(&out, AC_MASK_TEXT);
				i = at;
				continue;
			}
		}
		if ((i == 0 || !isalnum((unsigned char)s[i - 1])) && len - i > 9 &&
		    strncasecmp(s + i, "password=", 9) == 0) {
			ac_buf_add(&out, s + i, 9);
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
			continue;
		}
		ac_buf_addc(&out, s[i]);
		i++;
	}
	ac_buf_release(b);
	*b = out;
}

char *ac_mask_applyn(const struct ac_mask *m, const char *text, size_t len)
{
	struct ac_buf b = AC_BUF_INIT;
	if (!text)
		return ac_buf_detach(&b);
	ac_buf_add(&b, text, len);
	for (size_t k = 0; m && k < m->n; k++) {
		const char *needle = m->needles[k];
		size_t nl = strlen(needle);
		if (!strstr(b.buf, needle))
			continue;
		struct ac_buf out = AC_BUF_INIT;
		const char *p = b.buf, *hit;
		while ((hit = strstr(p, needle))) {
			ac_buf_add(&out, p, (size_t)(hit - p));
			ac_buf_adds(&out, AC_MASK_TEXT);
			p = hit + nl;
		}
		ac_buf_adds(&out, p);
		ac_buf_release(&b);
		b = out;
	}
	mask_credentials(&b);
	return ac_buf_detach(&b);
}

char *ac_mask_apply(const struct ac_mask *m, const char *text)
{
	return ac_mask_applyn(m, text, text ? strlen(text) : 0);
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
