/*
 * fuzz_prom.c: libFuzzer harness for the Prometheus text and OpenMetrics
 * parser, counter increases and quantiles between two scrapes, and the
 * /api/v1/query answer reader.
 *
 * Properties (abort on violation): no crash; a sample's value is finite
 * only when its text is a plain decimal number; no series twice in one
 * scrape; an increase or quantile is computed only from finite samples;
 * the API reader gives a number only when every series of the answer is a
 * plain decimal string, and then a finite one.
 *
 * Input: scrape bytes; a NUL splits the previous scrape from the current.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An independent oracle: a plain decimal number, as strtod reads it whole. */
static bool plain_finite(const char *s, size_t n, double v)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !strchr("+-.eE", s[i]))
			return false;
	char *buf = malloc(n + 1);
	if (!buf)
		abort();
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	double w = strtod(buf, &end);
	bool ok = *end == '\0' && isfinite(w) && w == v;
	free(buf);
	return ok;
}

/* The value token of a sample line, found without the parser: after the
 * name and the label set (quoted strings skipped), past blanks. */
static bool value_token(const char *line, size_t len, const char **tok, size_t *tlen)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (i < len && line[i] != '{' && line[i] != ' ' && line[i] != '\t')
		i++;
	if (i < len && line[i] == '{') {
		bool q = false;
		for (i++; i < len; i++) {
			if (q && line[i] == '\\') {
				i++;
				continue;
			}
			if (line[i] == '"')
				q = !q;
			else if (!q && line[i] == '}')
				break;
		}
		if (i >= len)
			return false;
		i++;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t s = i;
	while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
		i++;
	*tok = line + s;
	*tlen = i - s;
	return true;
}

static const char *nth_line(const char *text, size_t len, size_t n, size_t *llen)
{
	const char *p = text, *end = text + len;
	for (size_t k = 1; k < n && p < end; k++) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			return NULL;
		p = e + 1;
	}
	const char *e = memchr(p, '\n', (size_t)(end - p));
	*llen = (size_t)((e ? e : end) - p);
	return p;
}

static void check_scrape(const char *text, size_t len, const struct ac_prom_scrape *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		const struct ac_prom_sample *s = &sc->s[i];
		if (i > 0 && strcmp(sc->bykey[i - 1]->key, sc->bykey[i]->key) >= 0)
			abort(); /* a repeat, or lookups that cannot work */
		if (!isfinite(s->value))
			continue;
		size_t ll = 0, tl = 0;
		const char *l = nth_line(text, len, s->line, &ll), *tok;
		if (!l || !value_token(l, ll, &tok, &tl) || !plain_finite(tok, tl, s->value))
			abort(); /* a finite number from something else */
	}
}

static void check_pair(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur)
{
	if (cur->n == 0)
		return;
	const char *name = cur->s[0].name;
	struct ac_prom_increase inc;
	struct ac_error err = {0};
	if (ac_prom_increase(old, cur, name, NULL, 0, &inc, NULL, &err) == 0) {
		for (size_t i = 0; i < cur->n; i++) {
			if (strcmp(cur->s[i].name, name) != 0)
				continue;
			const struct ac_prom_sample *o = ac_prom_find(old, cur->s[i].key);
			if (!isfinite(cur->s[i].value) || (o && !isfinite(o->value)))
				abort(); /* an increase over a non-finite sample */
		}
		if (isnan(inc.sum))
			abort();
	}
	/* Histograms: the name without _bucket, when it has one. */
	size_t nl = strlen(name);
	if (nl > 7 && strcmp(name + nl - 7, "_bucket") == 0) {
		char *h = ac_strndup(name, nl - 7);
		struct ac_prom_quantile q;
		if (ac_prom_quantile(old, cur, h, NULL, 0, 0.95, &q, &err) == 0 &&
		    (isnan(q.value) || !(q.count > 0)))
			abort();
		free(h);
	}
}

/* The API oracle: every value of the answer is a plain finite string. */
static bool api_all_plain(const char *text, size_t len)
{
	cJSON *doc = ac_json_parse_body(text, len);
	const cJSON *data = ac_json_get(doc, "data");
	const cJSON *res = ac_json_get(data, "result");
	const char *rt = cJSON_GetStringValue(ac_json_get(data, "resultType"));
	bool ok = rt != NULL;
	const cJSON *e;
	if (ok && strcmp(rt, "scalar") == 0) {
		const cJSON *v = cJSON_GetArrayItem(res, 1);
		double d;
		ok = cJSON_IsString(v) &&
		     ac_prom_number(v->valuestring, strlen(v->valuestring), &d) == 0 &&
		     plain_finite(v->valuestring, strlen(v->valuestring), d);
	} else if (ok) {
		cJSON_ArrayForEach(e, res)
		{
			const cJSON *v = cJSON_GetArrayItem(ac_json_get(e, "value"), 1);
			double d;
			if (!cJSON_IsString(v) ||
			    ac_prom_number(v->valuestring, strlen(v->valuestring), &d) < 0 ||
			    !plain_finite(v->valuestring, strlen(v->valuestring), d))
				ok = false;
		}
	}
	cJSON_Delete(doc);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t olen = nul ? (size_t)(nul - text) : 0;
	const char *ctext = nul ? nul + 1 : text;
	size_t clen = nul ? size - olen - 1 : size;
	struct ac_error err = {0};
	for (int om = 0; om < 2; om++) {
		struct ac_prom_scrape old, cur;
		if (ac_prom_parse(text, olen, om, &old, &err) < 0)
			memset(&old, 0, sizeof(old));
		else
			check_scrape(text, olen, &old);
		if (ac_prom_parse(ctext, clen, om, &cur, &err) == 0) {
			check_scrape(ctext, clen, &cur);
			check_pair(&old, &cur);
			ac_prom_scrape_release(&cur);
		}
		ac_prom_scrape_release(&old);
	}
	double v;
	size_t n;
	/* Timestamps near 1.7e9 s are fresh for a day. */
	if (ac_prom_api_read(text, size, 200, AC_PROM_SUM, 1700000000000, 86400000, &v, &n, &err) ==
	    0) {
		if (!isfinite(v) || n == 0 || !api_all_plain(text, size))
			abort();
	}
	double d;
	if (ac_prom_number(text, size, &d) == 0 && isfinite(d) && !plain_finite(text, size, d))
		abort();
	return 0;
}
