/*
 * prom.c: Prometheus text and OpenMetrics parsing and counter arithmetic.
 */
#include "prom.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

static bool name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

static bool ieq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

int ac_prom_number(const char *s, size_t n, double *out)
{
	if (ieq(s, n, "nan")) {
		*out = NAN;
		return 0;
	}
	if (ieq(s, n, "inf") || ieq(s, n, "+inf") || ieq(s, n, "infinity") ||
	    ieq(s, n, "+infinity")) {
		*out = INFINITY;
		return 0;
	}
	if (ieq(s, n, "-inf") || ieq(s, n, "-infinity")) {
		*out = -INFINITY;
		return 0;
	}
	/* [+-] digits [. digits] [e [+-] digits], at least one digit before
	 * the exponent: no hex, no nan(...), no spaces, nothing after. */
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < n && isdigit((unsigned char)s[i]))
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t ed = 0;
		while (i < n && isdigit((unsigned char)s[i]))
			i++, ed++;
		if (ed == 0)
			return -1;
	}
	if (i != n)
		return -1;
	char *copy = ac_strndup(s, n), *end;
	double v = strtod(copy, &end);
	bool whole = *end == '\0';
	free(copy);
	if (!whole)
		return -1;
	*out = v; /* an overflow is an infinity, and is kept as one */
	return 0;
}

const char *ac_prom_fmt(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(buf, size, "%.15g", v);
	return buf;
}

static void sample_release(struct ac_prom_sample *s)
{
	free(s->name);
	free(s->key);
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->lnames[i]);
		free(s->lvalues[i]);
	}
}

void ac_prom_scrape_release(struct ac_prom_scrape *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		sample_release(&sc->s[i]);
	free(sc->s);
	free(sc->bykey);
	memset(sc, 0, sizeof(*sc));
}

static int cmp_label(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(x[0], y[0]);
}

static char *series_key(const struct ac_prom_sample *s)
{
	const char *pairs[AC_PROM_MAX_LABELS][2];
	for (size_t i = 0; i < s->nlabels; i++) {
		pairs[i][0] = s->lnames[i];
		pairs[i][1] = s->lvalues[i];
	}
	qsort(pairs, s->nlabels, sizeof(pairs[0]), cmp_label);
	/* Values escaped as the format writes them, so that no two label sets
	 * share a key; an empty value is the same series as no label, as in
	 * Prometheus. */
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, s->name);
	ac_buf_addc(&b, '{');
	bool first = true;
	for (size_t i = 0; i < s->nlabels; i++) {
		if (!pairs[i][1][0])
			continue;
		ac_buf_addf(&b, "%s%s=\"", first ? "" : ",", pairs[i][0]);
		first = false;
		for (const char *c = pairs[i][1]; *c; c++) {
			if (*c == '\\' || *c == '"')
				ac_buf_addc(&b, '\\');
			if (*c == '\n')
				ac_buf_adds(&b, "\\n");
			else
				ac_buf_addc(&b, *c);
		}
		ac_buf_addc(&b, '"');
	}
	ac_buf_addc(&b, '}');
	return ac_buf_detach(&b);
}

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *token_end(const char *p, const char *e)
{
	while (p < e && *p != ' ' && *p != '\t')
		p++;
	return p;
}

/* Parse one sample line [p, e); *why says what is wrong with it. */
static int parse_line(const char *p, const char *e, bool om, struct ac_prom_sample *s,
		      const char **why)
{
	memset(s, 0, sizeof(*s));
	*why = "not a valid sample";
	const char *n = p;
	if (p < e && *p == '{') {
		/* OpenMetrics-style quoted UTF-8 names are not supported. */
		*why = "quoted metric names are not supported";
		return -1;
	}
	while (p < e && name_char(*p, p == n))
		p++;
	if (p == n)
		return -1;
	s->name = ac_strndup(n, (size_t)(p - n));
	if (p < e && *p == '{') {
		p++;
		for (;;) {
			p = skip_ws(p, e);
			if (p < e && *p == '}') {
				p++;
				break;
			}
			const char *ln = p;
			while (p < e && name_char(*p, p == ln) && *p != ':')
				p++;
			if (p == ln || p >= e || *p != '=')
				return -1;
			if (s->nlabels >= AC_PROM_MAX_LABELS) {
				*why = "more than 32 labels";
				return -1;
			}
			char *lname = ac_strndup(ln, (size_t)(p - ln));
			for (size_t i = 0; i < s->nlabels; i++)
				if (strcmp(s->lnames[i], lname) == 0) {
					free(lname);
					*why = "a label given twice";
					return -1;
				}
			p++;
			if (p >= e || *p != '"') {
				free(lname);
				return -1;
			}
			p++;
			struct ac_buf v = AC_BUF_INIT;
			while (p < e && *p != '"') {
				if (*p == '\\' && p + 1 < e) {
					p++;
					if (*p == 'n')
						ac_buf_addc(&v, '\n');
					else if (*p == '\\' || *p == '"')
						ac_buf_addc(&v, *p);
					else {
						free(lname);
						ac_buf_release(&v);
						return -1;
					}
					p++;
					continue;
				}
				ac_buf_addc(&v, *p++);
			}
			if (p >= e) {
				free(lname);
				ac_buf_release(&v);
				return -1;
			}
			p++;
			s->lnames[s->nlabels] = lname;
			s->lvalues[s->nlabels] = ac_buf_detach(&v);
			s->nlabels++;
			p = skip_ws(p, e);
			if (p < e && *p == ',') {
				p++;
				continue;
			}
			if (p < e && *p == '}') {
				p++;
				break;
			}
			return -1;
		}
	}
	if (p >= e || (*p != ' ' && *p != '\t'))
		return -1;
	p = skip_ws(p, e);
	const char *v = p;
	p = token_end(p, e);
	if (ac_prom_number(v, (size_t)(p - v), &s->value) < 0) {
		*why = "the value is not a number";
		return -1;
	}
	/* Then an optional timestamp (integer milliseconds in the text
	 * format, seconds in OpenMetrics), an exemplar in OpenMetrics, and
	 * nothing else. */
	p = skip_ws(p, e);
	if (p < e && *p != '#') {
		const char *t = p;
		p = token_end(p, e);
		double ts;
		bool ok = ac_prom_number(t, (size_t)(p - t), &ts) == 0 && isfinite(ts);
		if (ok && !om) {
			for (const char *c = t; c < p; c++)
				if (!isdigit((unsigned char)*c) &&
				    !(c == t && (*c == '-' || *c == '+')))
					ok = false;
		}
		if (!ok) {
			*why = "the timestamp is not a number";
			return -1;
		}
		s->has_ts = true;
		s->ts_ms = om ? ts * 1000.0 : ts;
		p = skip_ws(p, e);
	}
	if (p < e && !(om && *p == '#')) {
		*why = "text after the value";
		return -1;
	}
	s->key = series_key(s);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct ac_prom_sample *const *x = a, *const *y = b;
	int c = strcmp((*x)->key, (*y)->key);
	if (c)
		return c;
	return (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
}

int ac_prom_parse(const char *text, size_t len, bool openmetrics, struct ac_prom_scrape *out,
		  struct ac_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *p = text, *end = text + len;
	size_t line = 0;
	bool eof = false;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		line++;
		const char *q = skip_ws(p, e);
		const char *le = e;
		if (le > q && le[-1] == '\r')
			le--;
		if (eof) {
			if (q < le) {
				ac_prom_scrape_release(out);
				return ac_error_set(err, "line %zu: text after \"# EOF\"", line);
			}
		} else if (q < le && *q == '#') {
			if (openmetrics && le - q == 5 && memcmp(q, "# EOF", 5) == 0)
				eof = true;
		} else if (q < le) {
			if (out->n >= AC_PROM_MAX_SERIES) {
				ac_prom_scrape_release(out);
				return ac_error_set(err, "more than %d series", AC_PROM_MAX_SERIES);
			}
			AC_GROW(out->s, out->n + 1, out->alloc);
			const char *why = NULL;
			if (parse_line(q, le, openmetrics, &out->s[out->n], &why) < 0) {
				sample_release(&out->s[out->n]);
				ac_prom_scrape_release(out);
				return ac_error_set(err, "line %zu is not a valid sample: %s", line,
						    why);
			}
			out->s[out->n].line = line;
			out->n++;
		}
		if (e == end)
			break;
		p = e + 1;
	}
	if (openmetrics && !eof) {
		ac_prom_scrape_release(out);
		return ac_error_set(err, "OpenMetrics text without \"# EOF\" (cut short?)");
	}
	/* Sorted by key for lookups; a series given twice is malformed (the
	 * formats forbid it) and would count twice. */
	out->bykey = ac_calloc(out->n + 1, sizeof(*out->bykey));
	for (size_t i = 0; i < out->n; i++)
		out->bykey[i] = &out->s[i];
	if (out->n > 1)
		qsort(out->bykey, out->n, sizeof(*out->bykey), cmp_key);
	for (size_t i = 1; i < out->n; i++) {
		if (strcmp(out->bykey[i - 1]->key, out->bykey[i]->key) == 0) {
			int rc = ac_error_set(err, "%s appears twice (lines %zu and %zu)",
					      out->bykey[i]->key, out->bykey[i - 1]->line,
					      out->bykey[i]->line);
			ac_prom_scrape_release(out);
			return rc;
		}
	}
	return 0;
}

const struct ac_prom_sample *ac_prom_find(const struct ac_prom_scrape *sc, const char *key)
{
	size_t lo = 0, hi = sc->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sc->bykey[mid]->key, key);
		if (c == 0)
			return sc->bykey[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *ac_prom_label(const struct ac_prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->lnames[i], name) == 0)
			return s->lvalues[i];
	return NULL;
}

int ac_prom_matcher_init(struct ac_prom_matcher *m, const char *label, const char *spec,
			 struct ac_error *err)
{
	memset(m, 0, sizeof(*m));
	m->label = ac_strdup(label);
	const char *v = spec;
	if (ac_starts_with(spec, "=~")) {
		m->op = AC_PROM_RE;
		v = spec + 2;
	} else if (ac_starts_with(spec, "!~")) {
		m->op = AC_PROM_NRE;
		v = spec + 2;
	} else if (ac_starts_with(spec, "!=")) {
		m->op = AC_PROM_NE;
		v = spec + 2;
	} else if (spec[0] == '=') {
		m->op = AC_PROM_EQ;
		v = spec + 1;
	}
	m->value = ac_strdup(v);
	if (m->op == AC_PROM_RE || m->op == AC_PROM_NRE) {
		/* PromQL anchors regular expressions at both ends. */
		char *anchored = ac_asprintf("^(%s)$", v);
		int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc != 0)
			return ac_error_set(err, "bad regular expression \"%s\"", v);
		m->has_re = true;
	}
	return 0;
}

void ac_prom_matcher_release(struct ac_prom_matcher *m)
{
	free(m->label);
	free(m->value);
	if (m->has_re)
		regfree(&m->re);
	memset(m, 0, sizeof(*m));
}

bool ac_prom_matches(const struct ac_prom_sample *s, const char *name,
		     const struct ac_prom_matcher *m, size_t n)
{
	if (strcmp(s->name, name) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *v = ac_prom_label(s, m[i].label);
		if (!v)
			v = ""; /* an absent label matches as empty, as in PromQL */
		bool hit;
		switch (m[i].op) {
		case AC_PROM_EQ:
			hit = strcmp(v, m[i].value) == 0;
			break;
		case AC_PROM_NE:
			hit = strcmp(v, m[i].value) != 0;
			break;
		case AC_PROM_RE:
			hit = regexec(&m[i].re, v, 0, NULL, 0) == 0;
			break;
		case AC_PROM_NRE:
			hit = regexec(&m[i].re, v, 0, NULL, 0) != 0;
			break;
		default:
			hit = false;
		}
		if (!hit)
			return false;
	}
	return true;
}

static double delta(double v1, double v2)
{
	/* A counter that went down was reset: it counts again from zero. */
	return v2 >= v1 ? v2 - v1 : v2;
}

#define NOTES_PER_KIND 5

static void note(struct ac_buf *notes, size_t *count, const char *what,
		 const struct ac_prom_sample *s)
{
	(*count)++;
	if (!notes || *count > NOTES_PER_KIND)
		return;
	char v[32];
	ac_buf_addf(notes, "%s: %s %s\n", what, s->key, ac_prom_fmt(s->value, v, sizeof(v)));
}

/* A counter is a finite number, never below zero. -1 with the error
 * naming the series when it is not. */
static int bad_counter(struct ac_error *err, const struct ac_prom_sample *s, bool old)
{
	if (isfinite(s->value) && s->value >= 0)
		return 0;
	char v[32];
	ac_prom_fmt(s->value, v, sizeof(v));
	const char *below = isfinite(s->value) ? ", below zero" : "";
	if (old)
		return ac_error_set(err, "was %s%s in the previous scrape: %s on line %zu", v,
				    below, s->key, s->line);
	return ac_error_set(err, "is %s%s: %s on line %zu", v, below, s->key, s->line);
}

/* The counter's _created sample (OpenMetrics, and Python's client in the
 * text format too): when it moved, the counter restarted, however far it
 * has grown since. */
static const struct ac_prom_sample *created(const struct ac_prom_scrape *sc,
					    const struct ac_prom_sample *s)
{
	size_t nl = strlen(s->name);
	if (nl < 6 || strcmp(s->name + nl - 6, "_total") != 0)
		return NULL;
	char *key = ac_asprintf("%.*s_created%s", (int)(nl - 6), s->name, s->key + nl);
	const struct ac_prom_sample *c = ac_prom_find(sc, key);
	free(key);
	return c && isfinite(c->value) ? c : NULL;
}

int ac_prom_increase(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
		     const char *name, const struct ac_prom_matcher *m, size_t n,
		     struct ac_prom_increase *out, struct ac_buf *notes, struct ac_error *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cur->n; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!ac_prom_matches(s, name, m, n))
			continue;
		if (bad_counter(err, s, false) < 0)
			return -1;
		const struct ac_prom_sample *o = ac_prom_find(old, s->key);
		if (o && bad_counter(err, o, true) < 0)
			return -1;
		out->nseries++;
		if (!o) {
			/* Created since the last scrape: all of it is new. */
			out->sum += s->value;
			note(notes, &out->nnew, "new series since the last scrape, counted from 0",
			     s);
			continue;
		}
		const struct ac_prom_sample *c1 = created(old, o), *c2 = created(cur, s);
		if (c1 && c2 && c1->value != c2->value) {
			note(notes, &out->nreset,
			     "restarted since the last scrape (_created moved)", s);
			out->sum += s->value;
			continue;
		}
		if (s->value < o->value)
			note(notes, &out->nreset, "reset since the last scrape, counted from 0", s);
		out->sum += delta(o->value, s->value);
	}
	for (size_t i = 0; i < old->n; i++) {
		const struct ac_prom_sample *o = &old->s[i];
		if (ac_prom_matches(o, name, m, n) && !ac_prom_find(cur, o->key))
			note(notes, &out->ngone, "gone since the last scrape, was", o);
	}
	if (notes) {
		if (out->nnew > NOTES_PER_KIND)
			ac_buf_addf(notes, "and %zu more new series\n", out->nnew - NOTES_PER_KIND);
		if (out->nreset > NOTES_PER_KIND)
			ac_buf_addf(notes, "and %zu more reset series\n",
				    out->nreset - NOTES_PER_KIND);
		if (out->ngone > NOTES_PER_KIND)
			ac_buf_addf(notes, "and %zu more series gone\n",
				    out->ngone - NOTES_PER_KIND);
	}
	return 0;
}

struct bucket {
	double le;
	double count;
};

static int cmp_bucket(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;
	return x->le < y->le ? -1 : x->le > y->le;
}

int ac_prom_quantile(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
		     const char *hist, const struct ac_prom_matcher *m, size_t n, double q,
		     struct ac_prom_quantile *out, struct ac_error *err)
{
	memset(out, 0, sizeof(*out));
	char *bname = ac_asprintf("%s_bucket", hist);
	struct bucket *b = NULL;
	size_t nb = 0, alloc = 0;
	int rc = -1;
	for (size_t i = 0; i < cur->n; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!ac_prom_matches(s, bname, m, n))
			continue;
		const char *les = ac_prom_label(s, "le");
		double le = NAN;
		if (!les || ac_prom_number(les, strlen(les), &le) < 0 || isnan(le)) {
			ac_error_set(err, "histogram bucket without a numeric le: %s on line %zu",
				     s->key, s->line);
			goto out;
		}
		const struct ac_prom_sample *o = ac_prom_find(old, s->key);
		if (bad_counter(err, s, false) < 0 || (o && bad_counter(err, o, true) < 0))
			goto out;
		/* A bucket series new since the last scrape counts from 0. */
		double d = o ? delta(o->value, s->value) : s->value;
		if (!o)
			out->nnew++;
		size_t k;
		for (k = 0; k < nb; k++)
			if (b[k].le == le)
				break;
		if (k == nb) {
			AC_GROW(b, nb + 1, alloc);
			b[nb].le = le;
			b[nb].count = 0;
			nb++;
		}
		b[k].count += d;
	}
	if (nb == 0) {
		ac_error_set(err, "no buckets of %s in the scrape", hist);
		goto out;
	}
	qsort(b, nb, sizeof(*b), cmp_bucket);
	if (!isinf(b[nb - 1].le) || b[nb - 1].le < 0) {
		ac_error_set(err, "the histogram has no le=\"+Inf\" bucket");
		goto out;
	}
	/* Each bucket counts everything below its bound: an increase that is
	 * not cumulative (a bucket series reset on its own) says nothing. */
	for (size_t k = 1; k < nb; k++) {
		if (b[k].count + 1e-9 * fabs(b[k - 1].count) < b[k - 1].count) {
			char l1[32], l2[32], c1[32], c2[32];
			ac_error_set(
			    err,
			    "the buckets are not cumulative: le=\"%s\" gained %s, le=\"%s\" %s",
			    ac_prom_fmt(b[k - 1].le, l1, sizeof(l1)),
			    ac_prom_fmt(b[k - 1].count, c1, sizeof(c1)),
			    ac_prom_fmt(b[k].le, l2, sizeof(l2)),
			    ac_prom_fmt(b[k].count, c2, sizeof(c2)));
			goto out;
		}
	}
	double total = b[nb - 1].count;
	out->count = total;
	if (!(total > 0)) {
		ac_error_set(err, "no traffic: no observations since the last scrape");
		goto out;
	}
	double rank = q * total, prev_le = 0, prev_count = 0;
	for (size_t k = 0; k < nb; k++) {
		if (b[k].count >= rank) {
			if (isinf(b[k].le)) {
				/* Above every finite bound: only a lower bound is known. */
				if (k == 0) {
					ac_error_set(err, "the histogram has only the +Inf bucket");
					goto out;
				}
				out->value = b[k - 1].le;
				out->above = true;
			} else if (k == 0 && b[k].le <= 0) {
				out->value = b[k].le;
			} else {
				double width = b[k].count - prev_count;
				double lower = k == 0 ? 0 : prev_le;
				out->value = width > 0 ? lower + (b[k].le - lower) *
								     (rank - prev_count) / width
						       : b[k].le;
			}
			rc = 0;
			goto out;
		}
		prev_le = b[k].le;
		prev_count = b[k].count;
	}
	ac_error_set(err, "the buckets are not cumulative");
out:
	free(bname);
	free(b);
	return rc;
}
