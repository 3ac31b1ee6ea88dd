/*
 * prom_api.c: the Prometheus HTTP API's answers (/api/v1/query), read
 * strictly: every series summed or aggregated, stale or non-finite samples
 * refused, an empty vector an error (see prom.h).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "prom.h"

/* --- the HTTP API -------------------------------------------------------- */

void ac_prom_aggregate(enum ac_prom_agg agg, double *acc, bool *first, double d)
{
	if (*first)
		*acc = d;
	else if (agg == AC_PROM_MAX)
		*acc = d > *acc ? d : *acc;
	else if (agg == AC_PROM_MIN)
		*acc = d < *acc ? d : *acc;
	else
		*acc += d;
	*first = false;
}

int ac_prom_stale(const char *series, double ts_ms, int64_t now_ms, int64_t max_age_ms,
		  struct ac_error *err)
{
	double age_s = ((double)now_ms - ts_ms) / 1000.0;
	double max_s = (double)max_age_ms / 1000.0;
	if (!isfinite(age_s))
		return ac_error_set(err, "stale sample: %s has no usable timestamp", series);
	if (age_s > max_s)
		return ac_error_set(err, "stale sample: %s is %.0f s old (max_age %.0f s)", series,
				    age_s, max_s);
	if (-age_s > max_s)
		return ac_error_set(err,
				    "stale sample: %s is stamped %.0f s in the future (max_age "
				    "%.0f s)",
				    series, -age_s, max_s);
	return 0;
}

/* An API series as name{labels}, for messages. */
static char *api_series(const cJSON *metric)
{
	struct ac_buf b = AC_BUF_INIT;
	const char *name = cJSON_GetStringValue(ac_json_get(metric, "__name__"));
	ac_buf_adds(&b, name ? name : "");
	ac_buf_addc(&b, '{');
	const cJSON *l;
	bool first = true;
	cJSON_ArrayForEach(l, metric)
	{
		if (!l->string || strcmp(l->string, "__name__") == 0 || !cJSON_IsString(l))
			continue;
		char *v = ac_excerpt(l->valuestring, strlen(l->valuestring), 60);
		ac_buf_addf(&b, "%s%s=\"%s\"", first ? "" : ",", l->string, v);
		free(v);
		first = false;
	}
	ac_buf_addc(&b, '}');
	char *all = ac_buf_detach(&b);
	char *out = ac_excerpt(all, strlen(all), 200);
	free(all);
	return out;
}

/* One [timestamp, "value"] pair: -1 with err when it is no measurement. */
static int api_value(const cJSON *pair, const char *series, int64_t now_ms, int64_t max_age_ms,
		     double *out, struct ac_error *err)
{
	const cJSON *ts = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
		return ac_error_set(err, "no measurement: %s has no [timestamp, value] pair",
				    series);
	if (!cJSON_IsNumber(ts))
		return ac_error_set(err, "no measurement: %s has a timestamp that is not a number",
				    series);
	if (!isfinite(ts->valuedouble))
		return ac_error_set(err, "no measurement: %s has the timestamp %g", series,
				    ts->valuedouble);
	if (!cJSON_IsString(v))
		return ac_error_set(err, "no measurement: %s has a value that is not a string",
				    series);
	if (ac_prom_number(v->valuestring, strlen(v->valuestring), out) < 0) {
		char *e = ac_excerpt(v->valuestring, strlen(v->valuestring), 40);
		ac_error_set(err, "no measurement: %s has the value \"%s\", not a number", series,
			     e);
		free(e);
		return -1;
	}
	if (!isfinite(*out)) {
		char b[32];
		return ac_error_set(err, "no measurement: %s is %s", series,
				    ac_prom_fmt(*out, b, sizeof(b)));
	}
	return ac_prom_stale(series, ts->valuedouble * 1000.0, now_ms, max_age_ms, err);
}

int ac_prom_api_read(const char *body, size_t len, long status, enum ac_prom_agg agg,
		     int64_t now_ms, int64_t max_age_ms, double *value, size_t *nseries,
		     struct ac_error *err)
{
	*value = NAN;
	*nseries = 0;
	cJSON *doc = ac_json_parse_body(body, len);
	const char *st = cJSON_GetStringValue(ac_json_get(doc, "status"));
	int rc = -1;
	if (!doc || !st) {
		ac_error_set(err, "prometheus: HTTP %ld and no API answer", status);
		goto out;
	}
	if (strcmp(st, "success") != 0) {
		const char *msg = cJSON_GetStringValue(ac_json_get(doc, "error"));
		char *e = ac_excerpt(msg ? msg : "", msg ? strlen(msg) : 0, 200);
		const char *type = cJSON_GetStringValue(ac_json_get(doc, "errorType"));
		char *t = ac_excerpt(type ? type : "error", strlen(type ? type : "error"), 40);
		ac_error_set(err, "prometheus: %s: %s", t, e);
		free(t);
		free(e);
		goto out;
	}
	/* A warning is a partial or doubtful answer (Thanos and Cortex say
	 * "partial response" when a store is down): no measurement. */
	const cJSON *warn = cJSON_GetArrayItem(ac_json_get(doc, "warnings"), 0);
	if (warn) {
		const char *w = cJSON_IsString(warn) ? warn->valuestring : "?";
		char *e = ac_excerpt(w, strlen(w), 200);
		ac_error_set(err, "prometheus warned: %s", e);
		free(e);
		goto out;
	}
	const cJSON *data = ac_json_get(doc, "data");
	const char *rt = cJSON_GetStringValue(ac_json_get(data, "resultType"));
	const cJSON *res = ac_json_get(data, "result");
	bool scalar = rt && strcmp(rt, "scalar") == 0;
	if (!scalar && !(rt && strcmp(rt, "vector") == 0 && cJSON_IsArray(res))) {
		char *t = ac_excerpt(rt ? rt : "?", strlen(rt ? rt : "?"), 40);
		ac_error_set(err, "prometheus: result type %s is not a number", t);
		free(t);
		goto out;
	}
	/* Every series counts: no cap, nothing left out. */
	double acc = NAN, d = NAN;
	bool first = true;
	size_t n = 0;
	if (scalar) {
		if (api_value(res, "the scalar", now_ms, max_age_ms, &d, err) < 0)
			goto out;
		ac_prom_aggregate(agg, &acc, &first, d);
		n = 1;
	} else {
		const cJSON *e;
		cJSON_ArrayForEach(e, res)
		{
			char *series = api_series(ac_json_get(e, "metric"));
			int r =
			    api_value(ac_json_get(e, "value"), series, now_ms, max_age_ms, &d, err);
			free(series);
			if (r < 0)
				goto out;
			ac_prom_aggregate(agg, &acc, &first, d);
			n++;
		}
	}
	if (n == 0) {
		ac_error_set(err, "no data: the query returned an empty vector");
		goto out;
	}
	if (!isfinite(acc)) {
		/* finite values can still add up to an infinity */
		ac_error_set(err, "no measurement: the %zu series add up to %g", n, acc);
		goto out;
	}
	*value = acc;
	*nseries = n;
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}
