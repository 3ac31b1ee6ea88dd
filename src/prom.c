/*
 * prom.c: Prometheus text and OpenMetrics parsing and counter arithmetic.
 */
#include "prom.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

static double parse_value(const char *s, const char *e, bool *ok)
{
	char buf[64];
	size_t n = (size_t)(e - s);
	*ok = n > 0 && n < sizeof(buf);
	if (!*ok)
		return NAN;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "nan") == 0)
		return NAN;
	if (strcasecmp(buf, "+inf") == 0 || strcasecmp(buf, "inf") == 0 ||
	    strcasecmp(buf, "+infinity") == 0 || strcasecmp(buf, "infinity") == 0)
		return INFINITY;
	if (strcasecmp(buf, "-inf") == 0 || strcasecmp(buf, "-infinity") == 0)
		return -INFINITY;
	char *end;
	double v = strtod(buf, &end);
	*ok = *end == '\0';
	return v;
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
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, s->name);
	ac_buf_addc(&b, '{');
	for (size_t i = 0; i < s->nlabels; i++)
		ac_buf_addf(&b, "%s%s=\"%s\"", i ? "," : "", pairs[i][0], pairs[i][1]);
	ac_buf_addc(&b, '}');
	return ac_buf_detach(&b);
}

/* Parse one sample line [p, e). */
static int parse_line(const char *p, const char *e, struct ac_prom_sample *s)
{
	memset(s, 0, sizeof(*s));
	const char *n = p;
	if (p < e && *p == '{') {
		/* OpenMetrics-style quoted UTF-8 names are not supported. */
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
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p < e && *p == '}') {
				p++;
				break;
			}
			const char *ln = p;
			while (p < e && name_char(*p, p == ln) && *p != ':')
				p++;
			if (p == ln || p >= e || *p != '=' || s->nlabels >= AC_PROM_MAX_LABELS)
				return -1;
			char *lname = ac_strndup(ln, (size_t)(p - ln));
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
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
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
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	const char *v = p;
	while (p < e && *p != ' ' && *p != '\t')
		p++;
	bool ok;
	s->value = parse_value(v, p, &ok);
	if (!ok)
		return -1;
	/* A timestamp and an exemplar may follow; neither is needed here. */
	s->key = series_key(s);
	return 0;
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
		const char *q = p;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		const char *le = e;
		if (le > q && le[-1] == '\r')
			le--;
		if (q < le && *q == '#') {
			if (openmetrics && le - q == 5 && memcmp(q, "# EOF", 5) == 0) {
				eof = true;
				break;
			}
		} else if (q < le) {
			if (out->n >= AC_PROM_MAX_SERIES) {
				ac_prom_scrape_release(out);
				return ac_error_set(err, "more than %d series", AC_PROM_MAX_SERIES);
			}
			AC_GROW(out->s, out->n + 1, out->alloc);
			if (parse_line(q, le, &out->s[out->n]) < 0) {
				sample_release(&out->s[out->n]);
				ac_prom_scrape_release(out);
				return ac_error_set(err, "line %zu is not a valid sample", line);
			}
			out->n++;
		}
		p = e + 1;
	}
	if (openmetrics && !eof) {
		ac_prom_scrape_release(out);
		return ac_error_set(err, "OpenMetrics text without \"# EOF\" (cut short?)");
	}
	return 0;
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

static const struct ac_prom_sample *find(const struct ac_prom_scrape *sc, const char *key)
{
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->s[i].key, key) == 0)
			return &sc->s[i];
	return NULL;
}

static double delta(double v1, double v2)
{
	/* A counter that went down was reset: it counts again from zero. */
	return v2 >= v1 ? v2 - v1 : v2;
}

double ac_prom_increase(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
			const char *name, const struct ac_prom_matcher *m, size_t n,
			size_t *nseries)
{
	double sum = 0;
	*nseries = 0;
	for (size_t i = 0; i < cur->n; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!ac_prom_matches(s, name, m, n) || !isfinite(s->value))
			continue;
		const struct ac_prom_sample *o = find(old, s->key);
		if (!o || !isfinite(o->value))
			continue; /* new since the last scrape: rate() needs two points too */
		sum += delta(o->value, s->value);
		(*nseries)++;
	}
	return sum;
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
		     double *out, double *count, const char **why)
{
	char *bname = ac_asprintf("%s_bucket", hist);
	struct bucket *b = NULL;
	size_t nb = 0, alloc = 0;
	for (size_t i = 0; i < cur->n; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!ac_prom_matches(s, bname, m, n))
			continue;
		const char *les = ac_prom_label(s, "le");
		const struct ac_prom_sample *o = find(old, s->key);
		bool ok;
		double le = les ? parse_value(les, les + strlen(les), &ok) : NAN;
		if (!les || !ok || !o || !isfinite(s->value) || !isfinite(o->value))
			continue;
		double d = delta(o->value, s->value);
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
	free(bname);
	int rc = -1;
	if (nb == 0) {
		*why = "no buckets of that histogram in both scrapes";
		goto out;
	}
	qsort(b, nb, sizeof(*b), cmp_bucket);
	if (!isinf(b[nb - 1].le)) {
		*why = "the histogram has no le=\"+Inf\" bucket";
		goto out;
	}
	double total = b[nb - 1].count;
	*count = total;
	if (!(total > 0)) {
		*why = "no traffic: no observations since the last scrape";
		goto out;
	}
	double rank = q * total, prev_le = 0, prev_count = 0;
	for (size_t k = 0; k < nb; k++) {
		if (b[k].count >= rank) {
			if (isinf(b[k].le)) {
				*out = k > 0 ? b[k - 1].le : 0;
			} else {
				double width = b[k].count - prev_count;
				double lower = k == 0 && b[k].le > 0 ? 0 : prev_le;
				*out = width > 0
					   ? lower + (b[k].le - lower) * (rank - prev_count) / width
					   : b[k].le;
			}
			rc = 0;
			goto out;
		}
		prev_le = b[k].le;
		prev_count = b[k].count;
	}
	*why = "buckets are not cumulative";
out:
	free(b);
	return rc;
}
