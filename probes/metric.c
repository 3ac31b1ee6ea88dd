/*
 * metric.c: the "metric" probe kind: error rates and latency from a
 * Prometheus text or OpenMetrics endpoint, or any PromQL expression through
 * a Prometheus server's /api/v1/query.
 *
 * Scrape mode keeps the previous scrape of the check between rounds;
 * counters become increases (resets count from zero) and histograms
 * quantiles of the increase. The first round scrapes twice, `gap` apart,
 * so one quick look still has a rate. Fail closed: no traffic is not a
 * zero error rate, an empty vector is not zero, NaN and infinities are not
 * numbers, a stale answer is not an answer.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curlmulti.h"
#include "expect.h"
#include "json.h"
#include "probe.h"
#include "prom.h"

#define METRIC_MAX_BODY (16 * 1024 * 1024)
/* Default max_age: twice the interval, and never under a minute. */
#define METRIC_MIN_MAX_AGE_MS 60000

enum metric_mode { M_RATIO, M_VALUE, M_QUANTILE, M_QUERY };

struct selector {
	char *metric;
	struct ac_prom_matcher *m;
	size_t n;
	/* errors only: no metric of that name in the scrape means 0 errors
	 * (a counter that appears with its first increment), not a typo */
	bool absent_is_zero;
};

struct metric_config {
	enum metric_mode mode;
	char *url; /* scrape URL, or the full query URL */
	struct selector errors, total, value;
	int agg; /* enum ac_prom_agg */
	double quantile;
	double min_requests;
	int64_t gap_ms;
	struct ac_expect expect; /* one comparison */
	int64_t max_age_ms;	 /* 0: the default */
	struct curl_slist *headers;
	/* as written, before the mode is chosen */
	char *scrape, *prometheus, *query, *histogram;
	struct ac_kvs header_kvs;
};

/* Error ratios are judged over the confirm window: the increases of the
 * last `confirm` measured rounds, summed (a round whose scrape failed
 * left the baseline where it was, so the next round's increase covers it
 * and nothing is lost). A counter reset (a restart) counts from 0, as
 * Prometheus' increase() does, and keeps the rounds before it: a restart
 * never shortens the evidence, and the old process's errors stay in the
 * window for `confirm` rounds. A round whose increase could not be
 * measured although the baseline moved on (a selected series missing or
 * stale) empties the window: that interval is lost and could have held
 * the errors, so the window fills again from the next round. */
#define RATIO_WINDOW_MAX 64
struct ratio_round {
	int round;
	double errors, total;
};

struct metric_memory {
	struct ac_prom_scrape last;
	bool has;
	int64_t t_ms; /* when the last scrape was taken */
	struct ratio_round win[RATIO_WINDOW_MAX];
	size_t nwin;
	int reset_round; /* the last round a selected counter reset in, 0: none */
};

/* The ratio over the window, for judge_ratio. */
struct ratio_window {
	double errors, total; /* summed over the window */
	int rounds;	      /* rounds in it */
	double round_errors, round_total;
	double value; /* errors / total, NaN without enough traffic */
};

struct fetch {
	struct ac_curl_job job;
	struct ac_probe_run *run;
	CURL *easy;
	struct ac_buf body;
	char errbuf[CURL_ERROR_SIZE];
	bool in_multi;
	struct ac_timer gap;
	struct ac_prom_scrape first; /* the first of two scrapes in round one */
	bool have_first;
};

/* "match": {"status": "=~5..", "route": "!=/health"} */
static void read_matchers(struct ac_cfg *cx, const struct ac_field *f, const cJSON *match,
			  const char *path, void *dst)
{
	struct selector *s = dst;
	if (!ac_cfg_want_object(cx, match, path))
		return;
	s->m = ac_calloc((size_t)cJSON_GetArraySize(match) + 1, sizeof(*s->m));
	const cJSON *e;
	cJSON_ArrayForEach(e, match)
	{
		char *kp = ac_cfg_path(path, e->string);
		struct ac_error err = {0};
		if (!cJSON_IsString(e))
			ac_cfg_error(cx, kp,
				     "expected a string such as \"200\", \"!=200\" or \"=~5..\"");
		else if (ac_prom_matcher_init(&s->m[s->n], e->string, e->valuestring, &err) < 0) {
			ac_cfg_error(cx, kp, "%s", err.msg);
			ac_prom_matcher_release(&s->m[s->n]);
		} else
			s->n++;
		free(kp);
	}
}

#define MATCH_DOC "label matchers: \"=~5..\", \"!=200\""

static const struct ac_field selector_fields[] = {
    {"metric", AC_FT_TEXT, true, offsetof(struct selector, metric), "a counter's name"},
    {"match", AC_FT_CUSTOM, false, 0, MATCH_DOC, AC_SHAPE_STRING_MAP, .read = read_matchers},
    {"absent_is_zero", AC_FT_BOOL, false, offsetof(struct selector, absent_is_zero),
     "errors: a scrape without this metric counts 0 errors"},
};

/* In the order of enum ac_prom_agg. */
static const char *const aggregates[] = {"sum", "max", "min", NULL};

#define MC(member) offsetof(struct metric_config, member)
static const struct ac_field metric_fields[] = {
    {"scrape", AC_FT_URL, false, MC(scrape), "a /metrics URL"},
    {"errors", AC_FT_OBJECT, false, MC(errors), "{\"metric\", \"match\"}: failed requests",
     .sub = selector_fields, .nsub = AC_ARRAY_LEN(selector_fields)},
    {"total", AC_FT_OBJECT, false, MC(total), "{\"metric\", \"match\"}: all requests",
     .sub = selector_fields, .nsub = AC_ARRAY_LEN(selector_fields)},
    {"min_requests", AC_FT_NUMBER, false, MC(min_requests), "fewer is \"no traffic\"",
     .range = AC_RANGE_MIN, .min = 1, .def = "1"},
    {"metric", AC_FT_TEXT, false, MC(value.metric), "a gauge or counter to read"},
    {"match", AC_FT_CUSTOM, false, MC(value), MATCH_DOC, AC_SHAPE_STRING_MAP,
     .read = read_matchers},
    {"aggregate", AC_FT_ENUM, false, MC(agg), "how series are combined", .choices = aggregates,
     .def = "\"sum\""},
    {"histogram", AC_FT_TEXT, false, MC(histogram), "a histogram's name"},
    {"quantile", AC_FT_NUMBER, false, MC(quantile), "0.95", .range = AC_RANGE_OPEN, .min = 0,
     .max = 1},
    {"prometheus", AC_FT_URL, false, MC(prometheus), "a Prometheus server's URL"},
    {"query", AC_FT_TEXT, false, MC(query), "a PromQL expression"},
    {"expect", AC_FT_COMPARISON, true, MC(expect), "one comparison: {\"<=\": 0.01}",
     .expect = AC_EXPECT_ONE},
    {"gap", AC_FT_DURATION, false, MC(gap_ms), "time between the first two scrapes",
     .def = "\"1s\""},
    {"headers", AC_FT_HEADERS, false, MC(header_kvs), "e.g. Authorization"},
    {"max_age", AC_FT_DURATION, false, MC(max_age_ms),
     "older samples are stale (default twice the interval, at least 60s)", .range = AC_RANGE_ABOVE,
     .min = 0},
};

static void selector_release(struct selector *s)
{
	free(s->metric);
	for (size_t i = 0; i < s->n; i++)
		ac_prom_matcher_release(&s->m[i]);
	free(s->m);
	memset(s, 0, sizeof(*s));
}

static void metric_config_destroy(void *p)
{
	struct metric_config *c = p;
	if (!c)
		return;
	free(c->url);
	selector_release(&c->errors);
	selector_release(&c->total);
	selector_release(&c->value);
	curl_slist_free_all(c->headers);
	ac_cfg_release(metric_fields, AC_ARRAY_LEN(metric_fields), c);
	free(c);
}

/* The rules across keys: which of the four modes, and what it needs. */
static void *metric_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct metric_config *c = ac_calloc(1, sizeof(*c));
	size_t before = cx->nerrors;
	ac_cfg_read(cx, obj, path, metric_fields, AC_ARRAY_LEN(metric_fields), c);
	bool selector = ac_json_get(obj, "errors") || ac_json_get(obj, "total");
	if (ac_json_get(obj, "prometheus")) {
		c->mode = M_QUERY;
		if (ac_json_get(obj, "scrape"))
			ac_cfg_error(cx, path,
				     "give either \"scrape\" or \"prometheus\", not both");
		if (!ac_json_get(obj, "query"))
			ac_cfg_error(cx, path, "missing required key \"query\"");
		if (c->prometheus && c->query) {
			char *enc = curl_easy_escape(NULL, c->query, 0);
			size_t l = strlen(c->prometheus);
			while (l && c->prometheus[l - 1] == '/')
				c->prometheus[--l] = '\0';
			c->url = ac_asprintf("%s/api/v1/query?query=%s", c->prometheus, enc);
			curl_free(enc);
		}
	} else if (!ac_json_get(obj, "scrape")) {
		ac_cfg_error(cx, path,
			     "needs \"scrape\" (a /metrics URL) or \"prometheus\" and \"query\"");
	} else {
		c->url = c->scrape;
		c->scrape = NULL;
		if (selector) {
			c->mode = M_RATIO;
			if (!ac_json_get(obj, "errors") || !ac_json_get(obj, "total"))
				ac_cfg_error(cx, path,
					     "an error ratio needs both \"errors\" and \"total\"");
			if (ac_json_get(obj, "match") || ac_json_get(obj, "metric"))
				ac_cfg_error(cx, path,
					     "\"metric\" and \"match\" here are for one value; "
					     "an error ratio takes them inside \"errors\" and "
					     "\"total\"");
		} else if (ac_json_get(obj, "histogram")) {
			c->mode = M_QUANTILE;
			free(c->value.metric);
			c->value.metric = c->histogram;
			c->histogram = NULL;
			if (!ac_json_get(obj, "quantile"))
				ac_cfg_error(cx, path,
					     "needs \"quantile\" between 0 and 1, e.g. 0.95");
		} else if (ac_json_get(obj, "metric")) {
			c->mode = M_VALUE;
		} else {
			ac_cfg_error(cx, path,
				     "say what to read: \"errors\" and \"total\", \"histogram\" "
				     "and \"quantile\", or \"metric\"");
		}
	}
	for (size_t i = 0; i < c->header_kvs.n; i++) {
		char *line =
		    ac_asprintf("%s: %s", c->header_kvs.v[i].name, c->header_kvs.v[i].value);
		c->headers = curl_slist_append(c->headers, line);
		free(line);
	}
	if (cx->nerrors != before) {
		metric_config_destroy(c);
		return NULL;
	}
	return c;
}

/* --- fetching ------------------------------------------------------------ */

static void fetch_free(struct fetch *f)
{
	if (!f)
		return;
	if (f->in_multi)
		curl_multi_remove_handle(ac_curlmulti_handle(ac_curlmulti_get(f->run->services)),
					 f->easy);
	ac_loop_timer_stop(f->run->loop, &f->gap);
	if (f->easy)
		curl_easy_cleanup(f->easy);
	ac_buf_release(&f->body);
	ac_prom_scrape_release(&f->first);
	free(f);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb;
	if (ac_buf_add(&f->body, data, n) < 0)
		return CURL_WRITEFUNC_ERROR;
	return n;
}

static void on_fetched(struct ac_curl_job *job, CURLcode rc);

static void fetch_start(struct fetch *f)
{
	struct ac_probe_run *run = f->run;
	const struct metric_config *c = run->check->config;
	const struct ac_settings *set = &run->plan->settings;
	ac_buf_release(&f->body);
	ac_buf_init(&f->body, METRIC_MAX_BODY);
	if (!f->easy)
		f->easy = curl_easy_init();
	CURL *e = f->easy;
	f->job.done = on_fetched;
	ac_curl_easy_common(e, set);
	curl_easy_setopt(e, CURLOPT_PRIVATE, &f->job);
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	int64_t left = run->deadline_ms - ac_loop_update_now(run->loop);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	f->errbuf[0] = '\0';
	if (curl_multi_add_handle(ac_curlmulti_handle(ac_curlmulti_get(run->services)), e) ==
	    CURLM_OK)
		f->in_multi = true;
}

static void finish(struct fetch *f, enum ac_state st, const char *fmt, ...) AC_PRINTF(3, 4);
static void finish(struct fetch *f, enum ac_state st, const char *fmt, ...)
{
	struct ac_probe_run *run = f->run;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		char *msg = ac_vasprintf(fmt, ap);
		va_end(ap);
		ac_sample_set(&run->sample, st, "%s", msg);
		free(msg);
	} else {
		ac_sample_set(&run->sample, st, NULL);
	}
	run->state = NULL;
	fetch_free(f);
	ac_probe_finish(run);
}

static void judge(struct fetch *f, const char *what, double v)
{
	const struct metric_config *c = f->run->check->config;
	struct ac_sample *s = &f->run->sample;
	if (!isfinite(v)) {
		finish(f, AC_STATE_ERROR, "no measurement: %s is %g", what, v);
		return;
	}
	s->has_value = true;
	s->value = v;
	if (ac_expect_holds(&c->expect, v)) {
		finish(f, AC_STATE_PASS, NULL);
		return;
	}
	char *got = ac_asprintf("%.6g", v);
	char *why = ac_expect_fail_text(what, got, &c->expect, "");
	finish(f, AC_STATE_FAIL, "%s", why);
	free(why);
	free(got);
}

/* "0.49%", "10%", "0.016%" */
static void fmt_pct(char *out, size_t n, double errors, double total)
{
	double pct = total > 0 ? 100.0 * errors / total : NAN;
	if (!isfinite(pct))
		snprintf(out, n, "n/a");
	else if (pct >= 10 || pct == 0)
		snprintf(out, n, "%.0f%%", pct);
	else
		snprintf(out, n, "%.2g%%", pct);
}

/* The window's ratio judged; the sample's value is this round's ratio,
 * so that a one-round spike stays visible in the per-round history. */
static void judge_ratio(struct fetch *f, const struct ratio_window *w)
{
	const struct metric_config *c = f->run->check->config;
	struct ac_sample *s = &f->run->sample;
	double v = w->value;
	if (!isfinite(v)) {
		finish(f, AC_STATE_ERROR, "no measurement: error ratio is %g", v);
		return;
	}
	s->has_value = w->round_total > 0;
	s->value = s->has_value ? w->round_errors / w->round_total : 0;
	if (ac_expect_holds(&c->expect, v)) {
		finish(f, AC_STATE_PASS, NULL);
		return;
	}
	char pct[32];
	fmt_pct(pct, sizeof(pct), w->errors, w->total);
	char *got = ac_asprintf("%.6g", v);
	char *why = ac_expect_fail_text("error ratio", got, &c->expect, "");
	finish(f, AC_STATE_FAIL, "%s (%.0f of %.0f requests, %s, over the last %d round%s)", why,
	       w->errors, w->total, pct, w->rounds, w->rounds == 1 ? "" : "s");
	free(why);
	free(got);
}

/* The quantile lies above bound, the highest finite bucket: the comparison
 * is certain only when the limit is at or below it. */
static void judge_above(struct fetch *f, const char *what, double bound)
{
	const struct metric_config *c = f->run->check->config;
	f->run->sample.has_value = true;
	f->run->sample.value = bound;
	const struct ac_expect_cmp *k = &c->expect.cmps[0];
	double top = k->op == AC_EXPECT_BETWEEN ? k->b : k->a;
	char *want = ac_expect_text(&c->expect, "", NULL, NULL);
	if (!(top <= bound)) {
		finish(f, AC_STATE_ERROR,
		       "%s above %.6g, the highest finite bucket: cannot tell whether it is %s",
		       what, bound, want);
	} else if (k->op == AC_EXPECT_NE || k->op == AC_EXPECT_GT || k->op == AC_EXPECT_GE) {
		/* value > bound >= the limit */
		finish(f, AC_STATE_PASS, NULL);
	} else {
		finish(f, AC_STATE_FAIL, "%s above %.6g, the highest finite bucket, expected %s",
		       what, bound, want);
	}
	free(want);
}

static void figure(struct ac_sample *s, const char *name, double v)
{
	struct ac_figure *fg = ac_sample_add_figure(s, name);
	fg->has_value = isfinite(v);
	fg->value = v;
}

static int64_t max_age_ms(const struct ac_probe_run *run)
{
	const struct metric_config *c = run->check->config;
	if (c->max_age_ms > 0)
		return c->max_age_ms;
	int64_t twice = 2 * run->plan->settings.interval_ms;
	return twice > METRIC_MIN_MAX_AGE_MS ? twice : METRIC_MIN_MAX_AGE_MS;
}

static int64_t wall_now_ms(const struct ac_probe_run *run)
{
	const struct ac_clock *clk = ac_loop_clock(run->loop);
	return clk->wall_ms(clk);
}

static void on_query(struct fetch *f, long status)
{
	const struct metric_config *c = f->run->check->config;
	struct ac_error err = {0};
	double v = NAN;
	size_t np = 0;
	if (ac_prom_api_read(f->body.buf, f->body.len, status, c->agg, wall_now_ms(f->run),
			     max_age_ms(f->run), &v, &np, &err) < 0) {
		finish(f, AC_STATE_ERROR, "%s", err.msg);
		return;
	}
	figure(&f->run->sample, "series", (double)np);
	judge(f, "value", v);
}

static void on_gap(void *ud)
{
	fetch_start(ud);
}

/* The first selected series of cur that carries a timestamp older than
 * max_age (a federation or a cache serving what it saw long ago). */
static char *stale_series(const struct ac_probe_run *run, const struct ac_prom_scrape *cur,
			  const char *name, const struct selector *sel)
{
	for (size_t i = 0; i < cur->n; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!s->has_ts || !ac_prom_matches(s, name, sel->m, sel->n))
			continue;
		struct ac_error err = {0};
		if (ac_prom_stale(s->key, s->ts_ms, wall_now_ms(run), max_age_ms(run), &err) < 0)
			return ac_strdup(err.msg);
	}
	return NULL;
}

static void on_value(struct fetch *f, struct ac_prom_scrape *cur)
{
	const struct metric_config *c = f->run->check->config;
	double acc = NAN;
	bool first = true;
	size_t n = 0;
	char *why = stale_series(f->run, cur, c->value.metric, &c->value);
	for (size_t i = 0; i < cur->n && !why; i++) {
		const struct ac_prom_sample *s = &cur->s[i];
		if (!ac_prom_matches(s, c->value.metric, c->value.m, c->value.n))
			continue;
		if (!isfinite(s->value)) {
			/* A series the check reads is never skipped. */
			char v[32];
			why = ac_asprintf("%s is %s: %s on line %zu", c->value.metric,
					  ac_prom_fmt(s->value, v, sizeof(v)), s->key, s->line);
			break;
		}
		n++;
		ac_prom_aggregate(c->agg, &acc, &first, s->value);
	}
	ac_prom_scrape_release(cur);
	if (!why && n == 0)
		why = ac_asprintf("no series matched %s", c->value.metric);
	if (why) {
		finish(f, AC_STATE_ERROR, "%s", why);
		free(why);
		return;
	}
	figure(&f->run->sample, "series", (double)n);
	judge(f, c->value.metric, acc);
}

/* Add a round's increases to the window; a reset starts it again. */
static void window_add(struct metric_memory *mem, int round, const struct ac_prom_increase *e,
		       const struct ac_prom_increase *t)
{
	if (e->nreset || t->nreset)
		mem->reset_round = round;
	if (mem->nwin == RATIO_WINDOW_MAX) {
		memmove(mem->win, mem->win + 1, (RATIO_WINDOW_MAX - 1) * sizeof(mem->win[0]));
		mem->nwin--;
	}
	mem->win[mem->nwin++] = (struct ratio_round){round, e->sum, t->sum};
}

/* The sums over the last `confirm` rounds of the window. */
static void window_sum(const struct metric_memory *mem, int confirm, struct ratio_window *w)
{
	size_t k = confirm > 0 ? (size_t)confirm : 1;
	if (k > mem->nwin)
		k = mem->nwin;
	w->errors = w->total = 0;
	w->rounds = (int)k;
	w->value = NAN;
	for (size_t i = mem->nwin - k; i < mem->nwin; i++) {
		w->errors += mem->win[i].errors;
		w->total += mem->win[i].total;
	}
}

/* "3 of 612 requests, 0.49%, over the last 3 rounds (this round: 0 of
 * 204)" and whether the window starts at a reset. */
static char *window_text(const struct metric_memory *mem, const struct ratio_window *w)
{
	char pct[32], rpct[32];
	fmt_pct(pct, sizeof(pct), w->errors, w->total);
	fmt_pct(rpct, sizeof(rpct), w->round_errors, w->round_total);
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_addf(&b, "%.0f of %.0f requests, %s, over the last %d round%s", w->errors, w->total,
		    pct, w->rounds, w->rounds == 1 ? "" : "s");
	if (w->rounds > 1)
		ac_buf_addf(&b, " (this round: %.0f of %.0f, %s)", w->round_errors, w->round_total,
			    rpct);
	if (mem->reset_round && w->rounds > 0 &&
	    mem->win[mem->nwin - (size_t)w->rounds].round <= mem->reset_round)
		ac_buf_addf(&b, "; counters reset in round %d, counted from 0", mem->reset_round);
	return ac_buf_detach(&b);
}

/* The error ratio between old and cur, summed over the confirm window
 * into w (w->value NaN), or a reason it has none. */
static char *ratio(struct fetch *f, const struct ac_prom_scrape *old,
		   const struct ac_prom_scrape *cur, struct ratio_window *w)
{
	const struct metric_config *c = f->run->check->config;
	struct ac_sample *smp = &f->run->sample;
	struct ac_prom_increase e, t;
	struct ac_error err = {0};
	struct ac_buf notes = AC_BUF_INIT;
	char *why = stale_series(f->run, cur, c->errors.metric, &c->errors);
	if (!why)
		why = stale_series(f->run, cur, c->total.metric, &c->total);
	if (!why && ac_prom_increase(old, cur, c->errors.metric, c->errors.m, c->errors.n, &e,
				     &notes, &err) < 0)
		why = ac_asprintf("errors counter %s", err.msg);
	if (!why && ac_prom_increase(old, cur, c->total.metric, c->total.m, c->total.n, &t, &notes,
				     &err) < 0)
		why = ac_asprintf("total counter %s", err.msg);
	if (!why && e.nseries == 0) {
		/* Zero errors is normal before a service's first error while the
		 * metric exists (other codes, other routes). No metric of that
		 * name at all is what a misspelt name looks like, and it would
		 * count 0 errors for ever: not a measurement, unless the scenario
		 * says the counter only appears with its first error. */
		bool family = false;
		for (size_t i = 0; i < cur->n && !family; i++)
			family = strcmp(cur->s[i].name, c->errors.metric) == 0;
		if (!family && !c->errors.absent_is_zero)
			why =
			    ac_asprintf("no metric named %s in the scrape, so no errors can be "
					"counted (a misspelt name?); if this counter only appears "
					"with its first error, set \"absent_is_zero\": true in "
					"\"errors\"",
					c->errors.metric);
		else
			ac_buf_addf(&notes,
				    "no series of %s matched the errors selector: 0 errors "
				    "counted\n",
				    c->errors.metric);
	}
	struct metric_memory *mem = *f->run->memory;
	if (!why) {
		figure(smp, "errors", e.sum);
		figure(smp, "requests", t.sum);
		if (t.nseries == 0)
			why = ac_asprintf("no series of %s matched", c->total.metric);
	}
	if (why) {
		/* The baseline moves on past an interval nobody counted. */
		mem->nwin = 0;
	} else {
		window_add(mem, f->run->round, &e, &t);
		window_sum(mem, f->run->plan->settings.confirm, w);
		w->round_errors = e.sum;
		w->round_total = t.sum;
		figure(smp, "window_errors", w->errors);
		figure(smp, "window_requests", w->total);
		figure(smp, "window_rounds", w->rounds);
		char *basis = window_text(mem, w);
		struct ac_buf ev = AC_BUF_INIT;
		ac_buf_addf(&ev, "%s\n", basis);
		free(basis);
		if (notes.len)
			ac_buf_adds(&ev, notes.buf);
		ac_buf_release(&notes);
		notes = ev;
		if (!(w->total >= c->min_requests))
			why = ac_asprintf("no traffic: %.0f requests over the last %d round%s (at "
					  "least %.0f needed for a rate)",
					  w->total, w->rounds, w->rounds == 1 ? "" : "s",
					  c->min_requests);
		else
			w->value = w->errors / w->total;
	}
	if (notes.len) {
		free(smp->evidence);
		smp->evidence = ac_buf_detach(&notes);
	}
	ac_buf_release(&notes);
	return why;
}

static void on_scrape(struct fetch *f, const char *ctype)
{
	struct ac_probe_run *run = f->run;
	const struct metric_config *c = run->check->config;
	bool om = ctype && strstr(ctype, "openmetrics");
	struct ac_prom_scrape cur;
	struct ac_error err = {0};
	if (ac_prom_parse(f->body.buf, f->body.len, om, &cur, &err) < 0) {
		finish(f, AC_STATE_ERROR, "cannot parse the scrape: %s", err.msg);
		return;
	}
	struct metric_memory *mem = *run->memory;
	if (!mem) {
		mem = ac_calloc(1, sizeof(*mem));
		*run->memory = mem;
	}
	if (c->mode == M_VALUE) {
		on_value(f, &cur);
		return;
	}
	/* Rates need an earlier scrape: the last round's, or one taken now.
	 * The very first scrape of the run is a baseline, never "all new". */
	const struct ac_prom_scrape *old = NULL;
	if (f->have_first)
		old = &f->first;
	else if (mem->has)
		old = &mem->last;
	if (!old) {
		f->first = cur;
		f->have_first = true;
		int64_t due = ac_loop_update_now(run->loop) + c->gap_ms;
		if (due >= run->deadline_ms) {
			finish(f, AC_STATE_ERROR,
			       "no time for a second scrape before the deadline");
			return;
		}
		curl_multi_remove_handle(ac_curlmulti_handle(ac_curlmulti_get(run->services)),
					 f->easy);
		f->in_multi = false;
		ac_loop_timer_start(run->loop, &f->gap, due, on_gap, f);
		return;
	}
	double v = NAN;
	char *why = NULL;
	struct ac_prom_quantile pq = {0};
	struct ratio_window w = {0};
	if (c->mode == M_RATIO) {
		why = ratio(f, old, &cur, &w);
	} else {
		why = stale_series(run, &cur, c->value.metric, &c->value);
		if (!why && ac_prom_quantile(old, &cur, c->value.metric, c->value.m, c->value.n,
					     c->quantile, &pq, &err) < 0)
			why = ac_strdup(err.msg);
		else if (!why && !(pq.count >= c->min_requests))
			why = ac_asprintf("no traffic: %.0f observations since the last scrape (at "
					  "least %.0f needed)",
					  pq.count, c->min_requests);
		v = pq.value;
		figure(&run->sample, "observations", pq.count);
		if (!why && pq.nnew)
			run->sample.evidence = ac_asprintf(
			    "%zu bucket series new since the last scrape, counted from 0", pq.nnew);
	}
	/* Even a scrape that gave no number is the next round's baseline. */
	ac_prom_scrape_release(&mem->last);
	mem->last = cur;
	mem->has = true;
	mem->t_ms = ac_loop_update_now(run->loop);
	if (why) {
		finish(f, AC_STATE_ERROR, "%s", why);
		free(why);
		return;
	}
	if (c->mode == M_RATIO) {
		judge_ratio(f, &w);
		return;
	}
	char what[64];
	snprintf(what, sizeof(what), "p%g", c->quantile * 100);
	if (pq.above)
		judge_above(f, what, v);
	else
		judge(f, what, v);
}

static void on_fetched(struct ac_curl_job *job, CURLcode rc)
{
	struct fetch *f = (struct fetch *)job;
	const struct metric_config *c = f->run->check->config;
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
	curl_multi_remove_handle(ac_curlmulti_handle(ac_curlmulti_get(f->run->services)), f->easy);
	f->in_multi = false;
	const char *src = c->mode == M_QUERY ? "prometheus" : "scrape";
	if (rc != CURLE_OK) {
		finish(f, AC_STATE_ERROR, "%s: %s%s%s", src,
		       rc == CURLE_WRITE_ERROR ? "body over 16 MiB" : curl_easy_strerror(rc),
		       f->errbuf[0] ? ": " : "", f->errbuf);
		return;
	}
	if (c->mode == M_QUERY) {
		on_query(f, status);
		return;
	}
	if (status != 200) {
		finish(f, AC_STATE_ERROR, "scrape: HTTP %ld", status);
		return;
	}
	char *ct = ctype ? ac_strdup(ctype) : NULL;
	on_scrape(f, ct);
	free(ct);
}

static void metric_start(struct ac_probe_run *run)
{
	struct fetch *f = ac_calloc(1, sizeof(*f));
	f->run = run;
	ac_buf_init(&f->body, METRIC_MAX_BODY);
	run->state = f;
	/* A rate over a few milliseconds says nothing: after a slow round,
	 * wait until the last scrape is at least `gap` old. */
	const struct metric_config *c = run->check->config;
	const struct metric_memory *mem = *run->memory;
	int64_t now = ac_loop_update_now(run->loop);
	if ((c->mode == M_RATIO || c->mode == M_QUANTILE) && mem && mem->has &&
	    now - mem->t_ms < c->gap_ms && mem->t_ms + c->gap_ms < run->deadline_ms) {
		ac_loop_timer_start(run->loop, &f->gap, mem->t_ms + c->gap_ms, on_gap, f);
		return;
	}
	fetch_start(f);
	if (!f->in_multi)
		finish(f, AC_STATE_ERROR, "cannot start the request");
}

static void metric_abort(struct ac_probe_run *run)
{
	struct fetch *f = run->state;
	if (!f)
		return;
	const struct metric_config *c = run->check->config;
	finish(f, AC_STATE_ERROR, "%s: %s", c->mode == M_QUERY ? "prometheus" : "scrape",
	       run->interrupted ? run->interrupted : "no answer before the deadline");
}

static void memory_destroy(void *p)
{
	struct metric_memory *m = p;
	if (!m)
		return;
	ac_prom_scrape_release(&m->last);
	free(m);
}

const struct ac_probe_kind ac_probe_metric = {
    .name = "metric",
    .summary = "error ratios, values and latency quantiles from Prometheus",
    .section = "checks",
    .per_target = false,
    .fields = metric_fields,
    .nfields = AC_ARRAY_LEN(metric_fields),
    .configure = metric_configure,
    .config_destroy = metric_config_destroy,
    .start = metric_start,
    .abort = metric_abort,
    .memory_destroy = memory_destroy,
};
