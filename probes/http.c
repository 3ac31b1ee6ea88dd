/*
 * http.c: the "http" probe kind: scripted user journeys with libcurl.
 *
 * A journey is a list of steps run in order by one persona against one
 * target, with a fresh in-memory cookie jar for every run. Steps capture
 * values for later steps, assert on what came back, may wait (repeat until
 * their assertions hold), and cleanup steps always run. All journeys of a
 * round share one curl multi handle driven by the engine's poll loop.
 *
 * Safety, from what Debian 12's libcurl 7.88 does:
 * - the body cap is enforced in the write callback (MAXFILESIZE does not
 *   stop a chunked body);
 * - redirects are followed here, not by libcurl (whose limit is unlimited
 *   and which forwards custom headers across ports): same origin only by
 *   default, never replaying a POST, with http and https only;
 * - TLS verification stays on unless the scenario says "insecure", which
 *   every report shows.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curlmulti.h"
#include "http.h"
#include "json.h"
#include "probe.h"

static void start_step(struct hrun *h);
static void finish_journey(struct hrun *h);

const struct step *http_cur_step(const struct hrun *h)
{
	return http_step_at(h->j, h->idx);
}

char *http_masked(const struct hrun *h, const char *s)
{
	return ac_mask_apply(h->run->mask, s);
}

static char *body_excerpt(const struct hrun *h)
{
	if (h->body.len == 0)
		return NULL;
	return ac_mask_excerpt(h->run->mask, h->body.buf, h->body.len, HTTP_EXCERPT);
}

/* What served the response: build and cache headers, for "edge stale". */
static char *served_by(const struct hrun *h)
{
	static const char *const names[] = {"X-Build",	      "X-Version", "Age",
					    "X-Cache-Status", "X-Cache",   "CF-Cache-Status"};
	if (!h->served_hdr)
		return NULL; /* none of them came (header_cb) */
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < AC_ARRAY_LEN(names); i++) {
		const char *v = http_find_header(h, names[i]);
		if (!v)
			continue;
		char *ex = ac_mask_excerpt(h->run->mask, v, strlen(v), 60);
		if (strcasecmp(names[i], "Age") == 0)
			ac_buf_addf(&b, "%sAge %s s", b.len ? ", " : "", ex);
		else if (strcasecmp(names[i], "X-Build") == 0 ||
			 strcasecmp(names[i], "X-Version") == 0)
			ac_buf_addf(&b, "%sbuild %s", b.len ? ", " : "", ex);
		else
			ac_buf_addf(&b, "%s%s %s", b.len ? ", " : "", names[i], ex);
		free(ex);
	}
	if (!b.len)
		return NULL;
	char *m = http_masked(h, b.buf);
	ac_buf_release(&b);
	return m;
}

void http_step_fail(struct hrun *h, enum ac_state st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	free(h->sr->reason);
	h->sr->reason = http_masked(h, msg);
	h->sr->state = st;
	free(msg);
}

void http_next_step(struct hrun *h)
{
	for (;;) {
		h->idx++;
		if (h->idx >= http_nsteps(h->j)) {
			finish_journey(h);
			return;
		}
		/* After a failure only cleanup steps still run. */
		if (!h->failed || http_cur_step(h)->cleanup)
			break;
	}
	start_step(h);
}

static void on_wait_timer(void *ud)
{
	http_begin_try(ud);
}

static void start_step(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	h->sr = ac_sample_add_step(&h->run->sample);
	h->sr->name = ac_strdup(s->login ? "login" : "");
	if (s->login) {
		free(h->sr->name);
		h->sr->name = ac_asprintf("login: %s", s->name);
	} else {
		free(h->sr->name);
		h->sr->name = http_masked(h, s->name);
	}
	h->sr->method = ac_strdup(s->method);
	h->sr->cleanup = s->cleanup;
	h->sr->write = s->write;
	h->tries = 0;
	h->retries_left = s->retries;
	h->step_start = ac_loop_update_now(h->run->loop);
	http_begin_try(h);
}

/* Should this failed try be tried again (wait or retries)? Schedules it. */
static bool try_again(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	int64_t now = ac_loop_update_now(h->run->loop);
	if (s->wait) {
		int64_t due = now + s->wait_every_ms;
		if (due - h->step_start <= s->wait_up_to_ms && due < h->run->deadline_ms) {
			http_remove_easy(h);
			ac_loop_timer_start(h->run->loop, &h->wait_timer, due, on_wait_timer, h);
			return true;
		}
		return false;
	}
	if (h->retries_left > 0) {
		h->retries_left--;
		int64_t due = now + 200;
		if (due < h->run->deadline_ms) {
			http_remove_easy(h);
			ac_loop_timer_start(h->run->loop, &h->wait_timer, due, on_wait_timer, h);
			return true;
		}
	}
	return false;
}

static void step_done(struct hrun *h, CURLcode rc)
{
	const struct step *s = http_cur_step(h);
	int64_t now = ac_loop_update_now(h->run->loop);
	int64_t duration = now - h->try_start;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
	h->sr->status = h->status;
	h->sr->duration_ms = duration;
	h->sr->tries = h->tries;
	h->sr->waited_ms = now - h->step_start;
	free(h->sr->url);
	h->sr->url = http_masked(h, h->url);
	free(h->sr->served_by);
	h->sr->served_by = served_by(h);
	bool ok;
	const char *enc = !h->body_too_big && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
			      ? http_encoding_problem(h)
			      : NULL;
	if (enc) {
		http_step_fail(h, h->enc == ENC_OTHER ? AC_STATE_ERROR : AC_STATE_FAIL, "%s %s: %s",
			       h->sr->method, h->sr->url, enc);
		ok = false;
	} else if (h->body_too_big || rc != CURLE_OK) {
		struct http_failure f = {
		    .rc = rc,
		    .easy = h->easy,
		    .url = h->url,
		    .errbuf = h->errbuf,
		    .status = h->status,
		    .duration_ms = duration,
		    .connect_timeout_ms = h->run->plan->settings.connect_timeout_ms,
		    .request_timeout_ms = h->req_timeout_ms,
		    .request_limit = h->req_limit,
		    .body_too_big = h->body_too_big,
		    .max_body = h->run->plan->settings.max_body,
		    .hdr_cap = h->hdr_cap,
		};
		enum ac_state st;
		char *why = http_failure_reason(&f, &st);
		/* Cut by what was left of allclear's own round, not by a timeout
		 * the scenario gave: nothing about the product was measured. */
		if (rc == CURLE_OPERATION_TIMEDOUT && strcmp(h->req_limit, "round time limit") == 0)
			st = AC_STATE_ERROR;
		http_step_fail(h, st, "%s %s: %s", h->sr->method, h->sr->url, why);
		free(why);
		ok = false;
	} else if (http_is_redirect(h->status) && h->redirects < s->follow) {
		if (http_follow_redirect(h))
			return;
		ok = false;
	} else if (http_is_redirect(h->status) && s->follow > 0 && h->redirects >= s->follow) {
		http_step_fail(h, AC_STATE_FAIL, "redirect limit of %d reached", s->follow);
		ok = false;
	} else {
		ok = http_judge_response(h, duration);
	}
	if (!ok && try_again(h)) {
		if (!s->wait)
			h->retried = true;
		return;
	}
	http_remove_easy(h);
	if (ok) {
		h->sr->state = AC_STATE_PASS;
		if (h->tries > 1 && !s->wait)
			h->retried = true;
	} else {
		if (h->sr->state == AC_STATE_PENDING)
			h->sr->state = AC_STATE_FAIL;
		free(h->sr->excerpt);
		h->sr->excerpt = body_excerpt(h);
		if (s->wait) {
			char waited[32];
			ac_format_duration(waited, sizeof(waited), h->sr->waited_ms);
			char *r = h->sr->reason;
			h->sr->reason = ac_asprintf("%s (still failing after %d tries over %s)",
						    r ? r : "failed", h->tries, waited);
			free(r);
		}
		if (s->cleanup)
			h->cleanup_failed = true;
		else
			h->failed = true;
	}
	http_next_step(h);
}

static void on_job_done(struct ac_curl_job *job, CURLcode rc)
{
	step_done((struct hrun *)job, rc);
}

static void hrun_destroy(struct hrun *h)
{
	if (!h)
		return;
	http_remove_easy(h);
	ac_loop_timer_stop(h->run->loop, &h->wait_timer);
	for (size_t i = 0; i < h->njars; i++) {
		ac_curlmulti_give(h->cm, h->jars[i].easy);
		free(h->jars[i].origin);
	}
	free(h->jars);
	http_reset_response(h);
	ac_buf_release(&h->body);
	http_kvs_free(h->caps, h->ncaps);
	free(h->url);
	free(h->url_origin);
	free(h->origin);
	free(h->missing);
	free(h);
}

static void finish_journey(struct hrun *h)
{
	struct ac_probe_run *run = h->run;
	struct ac_sample *s = &run->sample;
	const struct ac_step_result *bad = NULL;
	for (size_t i = 0; i < s->nsteps && !bad; i++)
		if (s->steps[i].state != AC_STATE_PASS && !s->steps[i].cleanup)
			bad = &s->steps[i];
	if (bad && h->interrupted_step && bad == &s->steps[s->nsteps - 1]) {
		ac_sample_set(s, AC_STATE_ERROR, "%s during step \"%s\"", h->run->interrupted,
			      bad->name);
	} else if (bad) {
		ac_sample_set(s, bad->state, "step \"%s\": %s", bad->name,
			      bad->reason ? bad->reason : "failed");
		s->evidence = bad->excerpt ? ac_strdup(bad->excerpt) : NULL;
	} else if (h->cleanup_failed) {
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i].state != AC_STATE_PASS)
				bad = &s->steps[i];
		ac_sample_set(s, AC_STATE_FAIL,
			      "cleanup step \"%s\" failed (a record may be left behind): %s",
			      bad->name, bad->reason ? bad->reason : "failed");
	} else {
		ac_sample_set(s, AC_STATE_PASS, NULL);
		s->retried = h->retried;
	}
	if (!bad || h->cleanup_failed) {
		if (h->j->observe) {
			free(h->missing);
			h->missing = NULL;
			char *o = http_expand(h, h->j->observe);
			if (!h->missing) /* never compare a capture that is not there */
				s->observed = http_masked(h, o);
			free(o);
		}
		if (h->j->value) {
			char *v = http_expand(h, h->j->value);
			double d;
			if (ac_parse_double(v, &d) == 0) {
				s->has_value = true;
				s->value = d;
			} else if (s->state == AC_STATE_PASS) {
				ac_sample_set(s, AC_STATE_ERROR, "value \"%s\" is not a number", v);
			}
			free(v);
		}
	}
	run->state = NULL;
	hrun_destroy(h);
	ac_probe_finish(run);
}

static void journey_start(struct ac_probe_run *run)
{
	struct hrun *h = ac_calloc(1, sizeof(*h));
	h->run = run;
	h->j = run->check->config;
	h->cm = ac_curlmulti_get(run->services);
	h->job.done = on_job_done;
	ac_buf_init(&h->body, run->plan->settings.max_body);
	h->origin = http_origin_memo(h, run->check->target->url);
	run->state = h;
	if (!h->origin || !http_use_jar(h, h->origin)) {
		ac_sample_set(&run->sample, AC_STATE_ERROR, "cannot prepare a request to %s",
			      run->check->target->url);
		run->state = NULL;
		hrun_destroy(h);
		ac_probe_finish(run);
		return;
	}
	h->idx = 0;
	start_step(h);
}

static void journey_abort(struct ac_probe_run *run)
{
	struct hrun *h = run->state;
	if (!h)
		return;
	if (h->sr && h->sr->state == AC_STATE_PENDING) {
		int64_t now = ac_loop_update_now(run->loop);
		free(h->sr->url);
		h->sr->url = h->url ? http_masked(h, h->url) : NULL;
		h->sr->tries = h->tries;
		h->sr->waited_ms = now - h->step_start;
		if (run->interrupted) {
			/* Cut short from outside (a signal): nothing was measured. */
			http_step_fail(h, AC_STATE_ERROR, "%s %s: %s after %lld ms", h->sr->method,
				       h->sr->url ? h->sr->url : "", run->interrupted,
				       (long long)(now - h->try_start));
			h->interrupted_step = true;
		} else if (run->deadline_is_budget) {
			/* Cut by what was left of allclear's own round or run, not by
			 * a timeout the scenario gave: nothing was measured. */
			http_step_fail(
			    h, AC_STATE_ERROR,
			    "%s %s: not measured: the round ran out of time after %lld ms "
			    "(round time limit)",
			    h->sr->method, h->sr->url ? h->sr->url : "",
			    (long long)(now - h->try_start));
		} else {
			/* The product did not answer in time: users see the same. */
			http_step_fail(h, AC_STATE_FAIL,
				       "%s %s: timeout after %lld ms (journey time limit)",
				       h->sr->method, h->sr->url ? h->sr->url : "",
				       (long long)(now - h->try_start));
		}
	}
	http_remove_easy(h);
	ac_loop_timer_stop(run->loop, &h->wait_timer);
	h->failed = true;
	/* No cleanup after the deadline: there is no time left for it. */
	h->idx = http_nsteps(h->j);
	finish_journey(h);
}

const struct ac_probe_kind ac_probe_http = {
    .name = "http",
    .summary = "scripted user journeys over HTTP(S), per persona and target",
    .section = "journeys",
    .per_target = true,
    .fields = http_journey_fields,
    .nfields = HTTP_NJOURNEY_FIELDS,
    .configure = http_journey_configure,
    .config_destroy = http_journey_destroy,
    .start = journey_start,
    .abort = journey_abort,
};
