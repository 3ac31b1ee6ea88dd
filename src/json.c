/*
 * json.c: a strict validating pass over JSON text (positions, duplicates,
 * non-finite numbers, depth), cJSON for the tree, and a small JSON path.
 */
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scan {
	const char *text;
	size_t len;
	size_t pos;
	int depth;
	int max_depth;
	size_t values, max_values; /* max_values 0: no cap */
	const char *errmsg;
	char errbuf[160];
	size_t errpos;
};

static int scan_fail(struct scan *s, size_t pos, const char *msg)
{
	if (!s->errmsg) {
		s->errmsg = msg;
		s->errpos = pos;
	}
	return -1;
}

static void skip_ws(struct scan *s)
{
	while (s->pos < s->len) {
		char c = s->text[s->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			s->pos++;
		else
			break;
	}
}

/* Scan a string starting at the opening quote; *start and *end bound the raw
 * contents (without quotes). */
static int scan_string(struct scan *s, size_t *start, size_t *end)
{
	size_t open = s->pos++;
	*start = s->pos;
	while (s->pos < s->len) {
		unsigned char c = (unsigned char)s->text[s->pos];
		if (c == '"') {
			*end = s->pos++;
			return 0;
		}
		if (c < 0x20)
			return scan_fail(
			    s, s->pos, "control character in string (use \\n, \\t or \\u escapes)");
		if (c == '\\') {
			if (s->pos + 1 >= s->len)
				break;
			char e = s->text[s->pos + 1];
			if (e == 'u') {
				if (s->pos + 5 >= s->len)
					return scan_fail(s, s->pos, "incomplete \\u escape");
				int v = 0;
				for (int i = 2; i < 6; i++) {
					int h =
					    ac_hexval((unsigned char)s->text[s->pos + (size_t)i]);
					if (h < 0)
						return scan_fail(s, s->pos, "bad \\u escape");
					v = v * 16 + h;
				}
				if (v == 0)
					return scan_fail(s, s->pos,
							 "\\u0000 is not allowed in strings");
				s->pos += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e))
				return scan_fail(s, s->pos, "unknown escape in string");
			s->pos += 2;
			continue;
		}
		s->pos++;
	}
	return scan_fail(s, open, "unterminated string");
}

static int scan_number(struct scan *s)
{
	size_t st = s->pos;
	const char *t = s->text;
	if (s->pos < s->len && t[s->pos] == '-')
		s->pos++;
	if (s->pos >= s->len || !isdigit((unsigned char)t[s->pos]))
		return scan_fail(s, st, "invalid number");
	if (t[s->pos] == '0' && s->pos + 1 < s->len && isdigit((unsigned char)t[s->pos + 1]))
		return scan_fail(s, st, "numbers must not have leading zeros");
	while (s->pos < s->len && isdigit((unsigned char)t[s->pos]))
		s->pos++;
	if (s->pos < s->len && t[s->pos] == '.') {
		s->pos++;
		if (s->pos >= s->len || !isdigit((unsigned char)t[s->pos]))
			return scan_fail(s, st, "invalid number");
		while (s->pos < s->len && isdigit((unsigned char)t[s->pos]))
			s->pos++;
	}
	if (s->pos < s->len && (t[s->pos] == 'e' || t[s->pos] == 'E')) {
		s->pos++;
		if (s->pos < s->len && (t[s->pos] == '+' || t[s->pos] == '-'))
			s->pos++;
		if (s->pos >= s->len || !isdigit((unsigned char)t[s->pos]))
			return scan_fail(s, st, "invalid number");
		while (s->pos < s->len && isdigit((unsigned char)t[s->pos]))
			s->pos++;
	}
	size_t n = s->pos - st;
	if (n > 63)
		return scan_fail(s, st, "number too long");
	char buf[64];
	memcpy(buf, t + st, n);
	buf[n] = '\0';
	errno = 0;
	double v = strtod(buf, NULL);
	if (!isfinite(v) || (errno == ERANGE && v != 0))
		return scan_fail(s, st, "number out of range");
	return 0;
}

static int scan_value(struct scan *s);

/* Member names of one object, for duplicate detection in O(1) per member:
 * spans of the text in an open-addressing table keyed by FNV-1a. */
struct keyset {
	size_t *span; /* start,end pairs */
	size_t n, span_alloc;
	size_t *slot; /* 0 empty, else index into span + 1 */
	size_t nslots;
};

static uint64_t span_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void keyset_place(struct keyset *k, const char *text, size_t idx)
{
	size_t st = k->span[2 * idx], en = k->span[2 * idx + 1];
	size_t i = (size_t)span_hash(text + st, en - st) & (k->nslots - 1);
	while (k->slot[i])
		i = (i + 1) & (k->nslots - 1);
	k->slot[i] = idx + 1;
}

/* Add the name text[ks..ke); false if the object already has it. */
static bool keyset_add(struct keyset *k, const char *text, size_t ks, size_t ke)
{
	if (k->nslots) {
		size_t i = (size_t)span_hash(text + ks, ke - ks) & (k->nslots - 1);
		for (; k->slot[i]; i = (i + 1) & (k->nslots - 1)) {
			size_t os = k->span[2 * (k->slot[i] - 1)],
			       oe = k->span[2 * (k->slot[i] - 1) + 1];
			if (oe - os == ke - ks && memcmp(text + os, text + ks, ke - ks) == 0)
				return false;
		}
	}
	AC_GROW(k->span, 2 * (k->n + 1), k->span_alloc);
	k->span[2 * k->n] = ks;
	k->span[2 * k->n + 1] = ke;
	k->n++;
	if (2 * k->n > k->nslots) {
		free(k->slot);
		k->nslots = k->nslots ? 2 * k->nslots : 16;
		k->slot = ac_calloc(k->nslots, sizeof(*k->slot));
		for (size_t i = 0; i < k->n; i++)
			keyset_place(k, text, i);
	} else {
		keyset_place(k, text, k->n - 1);
	}
	return true;
}

static int scan_object(struct scan *s)
{
	size_t open = s->pos++;
	struct keyset keys = {0};
	int rc = -1;
	skip_ws(s);
	if (s->pos < s->len && s->text[s->pos] == '}') {
		s->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (s->pos >= s->len) {
			scan_fail(s, open, "unterminated object");
			goto out;
		}
		if (s->text[s->pos] != '"') {
			scan_fail(s, s->pos,
				  s->text[s->pos] == '}' ? "trailing comma in object"
							 : "expected a quoted member name");
			goto out;
		}
		size_t kpos = s->pos, ks, ke;
		if (scan_string(s, &ks, &ke) < 0)
			goto out;
		if (keys.n >= AC_JSON_MAX_MEMBERS) {
			scan_fail(s, kpos, "object has more than 1,000,000 members");
			goto out;
		}
		if (!keyset_add(&keys, s->text, ks, ke)) {
			scan_fail(s, kpos, "duplicate member name");
			goto out;
		}
		skip_ws(s);
		if (s->pos >= s->len || s->text[s->pos] != ':') {
			scan_fail(s, s->pos, "expected ':' after member name");
			goto out;
		}
		s->pos++;
		if (scan_value(s) < 0)
			goto out;
		skip_ws(s);
		if (s->pos < s->len && s->text[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->text[s->pos] == '}') {
			s->pos++;
			rc = 0;
			goto out;
		}
		scan_fail(s, s->pos,
			  s->pos >= s->len ? "unterminated object" : "expected ',' or '}'");
		goto out;
	}
out:
	free(keys.span);
	free(keys.slot);
	return rc;
}

static int scan_array(struct scan *s)
{
	size_t open = s->pos++;
	skip_ws(s);
	if (s->pos < s->len && s->text[s->pos] == ']') {
		s->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (s->pos < s->len && s->text[s->pos] == ']')
			return scan_fail(s, s->pos, "trailing comma in array");
		if (scan_value(s) < 0)
			return -1;
		skip_ws(s);
		if (s->pos < s->len && s->text[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->text[s->pos] == ']') {
			s->pos++;
			return 0;
		}
		return scan_fail(s, s->pos >= s->len ? open : s->pos,
				 s->pos >= s->len ? "unterminated array" : "expected ',' or ']'");
	}
}

static int scan_literal(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);
	if (s->len - s->pos >= n && memcmp(s->text + s->pos, lit, n) == 0) {
		s->pos += n;
		return 0;
	}
	return scan_fail(s, s->pos, "unexpected character");
}

static int scan_value(struct scan *s)
{
	skip_ws(s);
	if (s->pos >= s->len)
		return scan_fail(s, s->pos, "unexpected end of input");
	if (s->max_values && ++s->values > s->max_values)
		return scan_fail(s, s->pos, "too many values");
	char c = s->text[s->pos];
	int rc;
	switch (c) {
	case '{':
	case '[':
		if (++s->depth > s->max_depth)
			return scan_fail(s, s->pos, "nesting too deep");
		rc = c == '{' ? scan_object(s) : scan_array(s);
		s->depth--;
		return rc;
	case '"': {
		size_t a, b;
		return scan_string(s, &a, &b);
	}
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		if (c == '-' || isdigit((unsigned char)c))
			return scan_number(s);
		if (c == '\'')
			return scan_fail(s, s->pos, "strings need double quotes");
		if (c == '/')
			return scan_fail(s, s->pos, "comments are not allowed in JSON");
		return scan_fail(s, s->pos, "unexpected character");
	}
}

static void format_position(const struct scan *s, const char *name, struct ac_error *err)
{
	size_t line = 1, col = 1, ls = 0;
	for (size_t i = 0; i < s->errpos && i < s->len; i++) {
		if (s->text[i] == '\n') {
			line++;
			col = 1;
			ls = i + 1;
		} else {
			col++;
		}
	}
	size_t le = ls;
	while (le < s->len && s->text[le] != '\n' && le - ls < 200)
		le++;
	/* The line as it is, control characters and tabs as one space each, so
	 * the caret lines up under the column. */
	char *shown = ac_strndup(s->text + ls, le - ls);
	for (unsigned char *p = (unsigned char *)shown; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		/* C1 controls in UTF-8 (U+0080-U+009F) drive terminals too. */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = ' ';
	}
	size_t caret = col - 1 < 200 ? col - 1 : 200;
	char pad[208];
	memset(pad, ' ', caret);
	pad[caret] = '\0';
	ac_error_set(err, "%s:%zu:%zu: %s\n  %s\n  %s^", name, line, col, s->errmsg, shown, pad);
	free(shown);
}

cJSON *ac_json_parse_strict(const char *text, size_t len, const char *name, int max_depth,
			    struct ac_error *err)
{
	struct scan s = {.text = text, .len = len, .max_depth = max_depth};
	if (memchr(text, '\0', len)) {
		s.errmsg = "NUL byte in file";
		s.errpos = (size_t)((const char *)memchr(text, '\0', len) - text);
		format_position(&s, name, err);
		return NULL;
	}
	size_t bom = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
	s.pos = bom;
	if (scan_value(&s) == 0) {
		skip_ws(&s);
		if (s.pos < s.len)
			scan_fail(&s, s.pos, "unexpected text after the JSON document");
	}
	if (s.errmsg) {
		format_position(&s, name, err);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text + bom, len - bom, &end, 0);
	if (!root) {
		ac_error_set(err, "%s: cannot be parsed as JSON", name);
		return NULL;
	}
	return root;
}

cJSON *ac_json_parse_body(const char *text, size_t len)
{
	return ac_json_parse_body_capped(text, len, NULL);
}

cJSON *ac_json_parse_body_capped(const char *text, size_t len, bool *capped)
{
	struct scan s = {
	    .text = text, .len = len, .max_depth = 200, .max_values = AC_JSON_BODY_MAX_VALUES};
	if (capped)
		*capped = false;
	if (len == 0 || memchr(text, '\0', len))
		return NULL;
	if (scan_value(&s) < 0) {
		if (capped)
			*capped = s.values > s.max_values;
		return NULL;
	}
	skip_ws(&s);
	if (s.pos != s.len)
		return NULL;
	const char *end = NULL;
	return cJSON_ParseWithLengthOpts(text, len, &end, 0);
}

const cJSON *ac_json_get(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* --- JSON path ---------------------------------------------------------- */

enum seg_kind { SEG_KEY, SEG_INDEX, SEG_ALL };
struct seg {
	enum seg_kind kind;
	char *key;
	long index;
};

static void segs_free(struct seg *segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(segs[i].key);
	free(segs);
}

static int path_parse(const char *path, struct seg **out, size_t *nout, struct ac_error *err)
{
	struct seg *segs = NULL;
	size_t n = 0, alloc = 0;
	const char *p = path;
	if (*p != '$') {
		return ac_error_set(err, "JSON path \"%s\" must start with $", path);
	}
	p++;
	while (*p) {
		AC_GROW(segs, n + 1, alloc);
		struct seg *sg = &segs[n];
		memset(sg, 0, sizeof(*sg));
		if (*p == '.') {
			p++;
			if (*p == '*') {
				sg->kind = SEG_ALL;
				p++;
				n++;
				continue;
			}
			const char *st = p;
			while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
				p++;
			if (p == st)
				goto bad;
			sg->kind = SEG_KEY;
			sg->key = ac_strndup(st, (size_t)(p - st));
			n++;
		} else if (*p == '[') {
			p++;
			if (*p == '*' && p[1] == ']') {
				sg->kind = SEG_ALL;
				p += 2;
			} else if (*p == '"' || *p == '\'') {
				char q = *p++;
				struct ac_buf b = AC_BUF_INIT;
				while (*p && *p != q) {
					if (*p == '\\' && p[1])
						p++;
					ac_buf_addc(&b, *p++);
				}
				if (*p != q || p[1] != ']') {
					ac_buf_release(&b);
					goto bad;
				}
				p += 2;
				sg->kind = SEG_KEY;
				sg->key = ac_buf_detach(&b);
			} else {
				char *end;
				errno = 0;
				long v = strtol(p, &end, 10);
				if (end == p || *end != ']' || errno)
					goto bad;
				p = end + 1;
				sg->kind = SEG_INDEX;
				sg->index = v;
			}
			n++;
		} else {
			goto bad;
		}
	}
	*out = segs;
	*nout = n;
	return 0;
bad:
	segs_free(segs, n);
	return ac_error_set(err, "JSON path \"%s\": bad syntax near \"%s\"", path, p);
}

int ac_jsonpath_check(const char *path, struct ac_error *err)
{
	struct seg *segs;
	size_t n;
	if (path_parse(path, &segs, &n, err) < 0)
		return -1;
	segs_free(segs, n);
	return 0;
}

struct matches {
	const cJSON **v;
	size_t n, alloc;
};

static void walk(const cJSON *node, const struct seg *segs, size_t nseg, struct matches *m)
{
	if (!node)
		return;
	if (nseg == 0) {
		AC_GROW(m->v, m->n + 1, m->alloc);
		m->v[m->n++] = node;
		return;
	}
	const struct seg *sg = &segs[0];
	switch (sg->kind) {
	case SEG_KEY:
		walk(ac_json_get(node, sg->key), segs + 1, nseg - 1, m);
		break;
	case SEG_INDEX:
		if (cJSON_IsArray(node)) {
			long size = cJSON_GetArraySize(node);
			long idx = sg->index < 0 ? size + sg->index : sg->index;
			if (idx >= 0 && idx < size)
				walk(cJSON_GetArrayItem(node, (int)idx), segs + 1, nseg - 1, m);
		}
		break;
	case SEG_ALL:
		if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
			const cJSON *c;
			cJSON_ArrayForEach(c, node)
			{
				walk(c, segs + 1, nseg - 1, m);
			}
		}
		break;
	}
}

int ac_jsonpath_eval(const cJSON *root, const char *path, const cJSON ***out, size_t *nout,
		     struct ac_error *err)
{
	struct seg *segs;
	size_t n;
	if (path_parse(path, &segs, &n, err) < 0)
		return -1;
	struct matches m = {0};
	walk(root, segs, n, &m);
	segs_free(segs, n);
	*out = m.v;
	*nout = m.n;
	return (int)m.n;
}

char *ac_json_to_text(const cJSON *v)
{
	if (!v)
		return ac_strdup("(missing)");
	if (cJSON_IsString(v))
		return ac_strdup(v->valuestring);
	if (cJSON_IsNumber(v))
		return ac_asprintf("%.15g", v->valuedouble);
	if (cJSON_IsBool(v))
		return ac_strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNull(v))
		return ac_strdup("null");
	char *s = cJSON_PrintUnformatted(v);
	char *r = ac_strdup(s ? s : "?");
	cJSON_free(s);
	return r;
}
