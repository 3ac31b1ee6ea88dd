/*
 * notify.c: webhook notifications on the engine's loop (see notify.h).
 */
#include "notify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "curlmulti.h"
#include "loop.h"
#include "mask.h"
#include "util.h"

/* A message, shared by every destination that still has to send it. */
struct msg {
	char *body;
	size_t refs;
};

struct dest {
	struct ac_curl_job job; /* first: the multi handle hands it back */
	struct ac_notifier *n;
	char *url;
	char *host; /* what messages name: never the path */
	struct msg **queue;
	size_t head, len, alloc;
	CURL *easy;
	bool in_multi;
	int tries;
	struct ac_timer retry;
	bool waiting; /* the retry timer runs */
	char errbuf[CURL_ERROR_SIZE];
};

struct ac_notifier {
	struct ac_notify_opts o;
	struct ac_services *sv;
	struct ac_curlmulti *cm;
	struct curl_slist *headers;
	struct dest *dests;
	size_t ndests;
	bool have_prev;
	enum ac_verdict prev_verdict;
	unsigned char *prev_states;
	size_t nprev;
	size_t sent, failed, dropped;
	char *first_error;
};

static void msg_unref(struct msg *m)
{
	if (m && --m->refs == 0) {
		free(m->body);
		free(m);
	}
}

static void record_failure(struct ac_notifier *n, struct dest *d, const char *why)
{
	n->failed++;
	char *line = ac_asprintf("notification to %s failed: %s", d->host, why);
	char *m = ac_mask_apply(n->sv->mask, line);
	fprintf(stderr, "allclear: %s\n", m);
	if (!n->first_error)
		n->first_error = m;
	else
		free(m);
	free(line);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *ud)
{
	(void)data;
	(void)ud;
	return size * nmemb;
}

static void send_next(struct dest *d);

static void pop(struct dest *d)
{
	msg_unref(d->queue[d->head]);
	d->head = (d->head + 1) % d->alloc;
	d->len--;
	d->tries = 0;
}

static void on_retry(void *ud)
{
	struct dest *d = ud;
	d->waiting = false;
	send_next(d);
}

static void on_done(struct ac_curl_job *job, CURLcode rc)
{
	struct dest *d = (struct dest *)job;
	struct ac_notifier *n = d->n;
	long status = 0;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(ac_curlmulti_handle(n->cm), d->easy);
	d->in_multi = false;
	d->tries++;
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		n->sent++;
		pop(d);
		send_next(d);
		return;
	}
	char why[CURL_ERROR_SIZE + 64];
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
	else
		snprintf(why, sizeof(why), "status %ld", status);
	/* A refusal (4xx) will not change; a server or network error may. */
	bool again = (rc != CURLE_OK || status >= 500) && d->tries < n->o.max_tries;
	if (again) {
		int64_t wait = n->o.backoff_ms << (d->tries - 1);
		d->waiting = true;
		ac_loop_timer_start(n->sv->loop, &d->retry, ac_loop_update_now(n->sv->loop) + wait,
				    on_retry, d);
		return;
	}
	char *full = ac_asprintf("%s after %d tr%s", why, d->tries, d->tries == 1 ? "y" : "ies");
	record_failure(n, d, full);
	free(full);
	pop(d);
	send_next(d);
}

static void send_next(struct dest *d)
{
	struct ac_notifier *n = d->n;
	if (d->in_multi || d->waiting || d->len == 0)
		return;
	if (!d->easy) {
		d->easy = curl_easy_init();
		if (!d->easy) {
			record_failure(n, d, "libcurl could not make a handle");
			while (d->len)
				pop(d);
			return;
		}
	}
	CURL *e = d->easy;
	curl_easy_reset(e);
	ac_curl_easy_common(e, &n->sv->plan->settings);
	curl_easy_setopt(e, CURLOPT_URL, d->url);
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, d->queue[d->head]->body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, n->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&d->job);
	d->errbuf[0] = '\0';
	if (curl_multi_add_handle(ac_curlmulti_handle(n->cm), e) != CURLM_OK) {
		record_failure(n, d, "libcurl would not start the request");
		pop(d);
		return;
	}
	d->in_multi = true;
}

static char *host_of(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		out = ac_strdup(host);
	curl_free(host);
	curl_url_cleanup(u);
	return out ? out : ac_strdup("(a webhook)");
}

struct ac_notifier *ac_notifier_create(const struct ac_notify_opts *o, struct ac_services *sv)
{
	struct ac_notifier *n = ac_calloc(1, sizeof(*n));
	n->o = *o;
	if (n->o.max_tries < 1)
		n->o.max_tries = 3;
	if (n->o.timeout_ms < 1)
		n->o.timeout_ms = 5000;
	if (n->o.backoff_ms < 1)
		n->o.backoff_ms = 500;
	if (!n->o.on)
		n->o.on = AC_NOTIFY_BOTH;
	n->sv = sv;
	n->cm = ac_curlmulti_get(sv);
	n->headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (size_t i = 0; o->headers && i < o->headers->n; i++) {
		char *line = ac_asprintf("%s: %s", o->headers->v[i].name, o->headers->v[i].value);
		n->headers = curl_slist_append(n->headers, line);
		free(line);
	}
	n->ndests = o->nurls;
	n->dests = ac_calloc(o->nurls ? o->nurls : 1, sizeof(*n->dests));
	for (size_t i = 0; i < o->nurls; i++) {
		struct dest *d = &n->dests[i];
		d->job.done = on_done;
		d->n = n;
		d->url = ac_strdup(o->urls[i]);
		d->host = host_of(o->urls[i]);
	}
	return n;
}

static void enqueue(struct ac_notifier *n, char *body)
{
	struct msg *m = ac_calloc(1, sizeof(*m));
	m->body = ac_mask_apply(n->sv->mask, body);
	free(body);
	for (size_t i = 0; i < n->ndests; i++) {
		struct dest *d = &n->dests[i];
		if (d->len >= AC_NOTIFY_MAX_QUEUE) {
			n->dropped++;
			continue;
		}
		if (d->len == d->alloc) {
			/* grow the ring, keeping its order */
			size_t na = d->alloc ? d->alloc * 2 : 8;
			struct msg **q = ac_calloc(na, sizeof(*q));
			for (size_t k = 0; k < d->len; k++)
				q[k] = d->queue[(d->head + k) % d->alloc];
			free(d->queue);
			d->queue = q;
			d->head = 0;
			d->alloc = na;
		}
		d->queue[(d->head + d->len) % d->alloc] = m;
		d->len++;
		m->refs++;
		send_next(d);
	}
	if (m->refs == 0) {
		free(m->body);
		free(m);
	}
}

static void add_change(cJSON *changes, struct ac_buf *line, size_t *nline,
		       const struct ac_check_result *cr, const char *from)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "check", cr->id ? cr->id : "");
	if (from)
		cJSON_AddStringToObject(c, "from", from);
	cJSON_AddStringToObject(c, "to", ac_state_name(cr->state));
	cJSON_AddStringToObject(c, "owner", cr->owner && *cr->owner ? cr->owner : "unassigned");
	if (cr->reason)
		cJSON_AddStringToObject(c, "reason", cr->reason);
	cJSON_AddItemToArray(changes, c);
	if (*nline < 3) {
		char *id = ac_text_escape(cr->id ? cr->id : "");
		char *owner = ac_text_escape(cr->owner && *cr->owner ? cr->owner : "unassigned");
		ac_buf_addf(line, "%s%s %s%s%s (owner %s)", *nline ? "; " : ": ", id,
			    from ? from : "", from ? " -> " : "", ac_state_name(cr->state), owner);
		free(id);
		free(owner);
	}
	(*nline)++;
}

char *ac_notify_body(const struct ac_result *r, bool final, enum ac_verdict prev_verdict,
		     const unsigned char *prev_states, size_t round)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *changes = cJSON_CreateArray();
	struct ac_buf line = AC_BUF_INIT;
	char *name = ac_text_escape(r->scenario_name ? r->scenario_name : "");
	ac_buf_addf(&line, "allclear: %s%s", ac_verdict_name(r->verdict), final ? " (final)" : "");
	if (!final && prev_states && prev_verdict != r->verdict)
		ac_buf_addf(&line, " (was %s)", ac_verdict_name(prev_verdict));
	ac_buf_addf(&line, " for %s", name);
	free(name);
	size_t nline = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (prev_states) {
			if (prev_states[i] != (unsigned char)cr->state)
				add_change(changes, &line, &nline, cr,
					   ac_state_name((enum ac_state)prev_states[i]));
		} else if (cr->state != AC_STATE_PASS) {
			/* the end: what is still not restored */
			add_change(changes, &line, &nline, cr, NULL);
		}
	}
	if (nline > 3)
		ac_buf_addf(&line, "; and %zu more", nline - 3);
	cJSON_AddStringToObject(o, "text", line.buf ? line.buf : "");
	cJSON_AddStringToObject(o, "scenario", r->scenario_name ? r->scenario_name : "");
	cJSON_AddStringToObject(o, "verdict", ac_verdict_name(r->verdict));
	if (prev_states)
		cJSON_AddStringToObject(o, "previous_verdict", ac_verdict_name(prev_verdict));
	cJSON_AddNumberToObject(o, "round", (double)round);
	cJSON_AddBoolToObject(o, "final", final);
	if (r->verdict_reason)
		cJSON_AddStringToObject(o, "reason", r->verdict_reason);
	cJSON_AddItemToObject(o, final ? "not_restored" : "changes", changes);
	ac_buf_release(&line);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		ac_die("out of memory building a notification");
	char *out = ac_strdup(text);
	cJSON_free(text);
	return out;
}

void ac_notifier_round(struct ac_notifier *n, const struct ac_result *r)
{
	if (!n)
		return;
	bool changed = !n->have_prev ? false : n->prev_verdict != r->verdict;
	if (n->have_prev)
		for (size_t i = 0; i < r->nchecks && i < n->nprev && !changed; i++)
			changed = n->prev_states[i] != (unsigned char)r->checks[i].state;
	if (changed && (n->o.on & AC_NOTIFY_CHANGE))
		enqueue(n, ac_notify_body(r, false, n->prev_verdict, n->prev_states,
					  (size_t)r->rounds));
	if (n->nprev != r->nchecks) {
		free(n->prev_states);
		n->prev_states = ac_calloc(r->nchecks ? r->nchecks : 1, 1);
		n->nprev = r->nchecks;
	}
	for (size_t i = 0; i < r->nchecks; i++)
		n->prev_states[i] = (unsigned char)r->checks[i].state;
	n->prev_verdict = r->verdict;
	n->have_prev = true;
}

void ac_notifier_end(struct ac_notifier *n, const struct ac_result *r)
{
	if (n && (n->o.on & AC_NOTIFY_END))
		enqueue(n, ac_notify_body(r, true, n->prev_verdict, NULL, (size_t)r->rounds));
}

bool ac_notifier_busy(const struct ac_notifier *n)
{
	for (size_t i = 0; n && i < n->ndests; i++)
		if (n->dests[i].len)
			return true;
	return false;
}

void ac_notifier_finish(struct ac_notifier *n, struct ac_result *r)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->ndests; i++) {
		struct dest *d = &n->dests[i];
		if (d->in_multi) {
			curl_multi_remove_handle(ac_curlmulti_handle(n->cm), d->easy);
			d->in_multi = false;
		}
		if (d->waiting) {
			ac_loop_timer_stop(n->sv->loop, &d->retry);
			d->waiting = false;
		}
		if (d->len) {
			char *why = ac_asprintf("%zu not sent: the run ended first", d->len);
			record_failure(n, d, why);
			n->failed += d->len - 1;
			free(why);
			while (d->len)
				pop(d);
		}
	}
	if (n->dropped) {
		char *why =
		    ac_asprintf("%zu notification%s dropped: more than %d queued", n->dropped,
				n->dropped == 1 ? "" : "s", AC_NOTIFY_MAX_QUEUE);
		n->failed += n->dropped;
		fprintf(stderr, "allclear: %s\n", why);
		if (!n->first_error)
			n->first_error = why;
		else
			free(why);
		n->dropped = 0;
	}
	r->notify_sent = n->sent;
	r->notify_failed = n->failed;
	free(r->notify_error);
	r->notify_error = n->first_error ? ac_strdup(n->first_error) : NULL;
}

void ac_notifier_destroy(struct ac_notifier *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->ndests; i++) {
		struct dest *d = &n->dests[i];
		if (d->in_multi)
			curl_multi_remove_handle(ac_curlmulti_handle(n->cm), d->easy);
		if (d->waiting)
			ac_loop_timer_stop(n->sv->loop, &d->retry);
		while (d->len)
			pop(d);
		free(d->queue);
		if (d->easy)
			curl_easy_cleanup(d->easy);
		free(d->url);
		free(d->host);
	}
	free(n->dests);
	curl_slist_free_all(n->headers);
	free(n->prev_states);
	free(n->first_error);
	free(n);
}
