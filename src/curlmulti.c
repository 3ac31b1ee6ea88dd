/*
 * curlmulti.c: libcurl's multi interface on the engine's loop.
 */
#include "curlmulti.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "util.h"

struct ac_curlmulti {
	CURLM *multi;
	struct ac_loop *loop;
	const struct ac_settings *settings;
	struct ac_timer timer;
	int running;
	/* Idle journey handles, their cookie jars empty (ac_curlmulti_give). */
	CURL **idle;
	size_t nidle, max_idle;
	/* URL checks remembered, by a hash of the URL (one entry a slot). */
	struct url_memo {
		char *url;
		char *origin;
		const char *problem;
	} memo[256];
};

static void check_done(struct ac_curlmulti *cm)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(cm->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct ac_curl_job *job = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
		CURLcode rc = msg->data.result;
		if (job && job->done)
			job->done(job, rc);
	}
}

static void on_socket_ready(void *ud, int fd, unsigned revents)
{
	struct ac_curlmulti *cm = ud;
	int ev = 0;
	if (revents & AC_LOOP_READ)
		ev |= CURL_CSELECT_IN;
	if (revents & AC_LOOP_WRITE)
		ev |= CURL_CSELECT_OUT;
	if (revents & AC_LOOP_ERROR)
		ev |= CURL_CSELECT_ERR;
	curl_multi_socket_action(cm->multi, fd, ev, &cm->running);
	check_done(cm);
}

static void on_curl_timer(void *ud)
{
	struct ac_curlmulti *cm = ud;
	curl_multi_socket_action(cm->multi, CURL_SOCKET_TIMEOUT, 0, &cm->running);
	check_done(cm);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct ac_curlmulti *cm = userp;
	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		ac_loop_unwatch(cm->loop, s);
		return 0;
	}
	unsigned ev = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= AC_LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= AC_LOOP_WRITE;
	ac_loop_watch(cm->loop, s, ev, on_socket_ready, cm);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct ac_curlmulti *cm = userp;
	(void)multi;
	if (timeout_ms < 0)
		ac_loop_timer_stop(cm->loop, &cm->timer);
	else
		ac_loop_timer_start(cm->loop, &cm->timer, ac_loop_now(cm->loop) + timeout_ms,
				    on_curl_timer, cm);
	return 0;
}

static void curlmulti_destroy(void *p)
{
	struct ac_curlmulti *cm = p;
	if (!cm)
		return;
	ac_loop_timer_stop(cm->loop, &cm->timer);
	for (size_t i = 0; i < cm->nidle; i++)
		curl_easy_cleanup(cm->idle[i]);
	free(cm->idle);
	for (size_t i = 0; i < AC_ARRAY_LEN(cm->memo); i++) {
		free(cm->memo[i].url);
		free(cm->memo[i].origin);
	}
	curl_multi_cleanup(cm->multi);
	free(cm);
}

void ac_curl_easy_common(CURL *e, const struct ac_settings *set)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)set->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "allclear/" AC_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (set->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, set->ca_file);
	if (set->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

struct ac_curlmulti *ac_curlmulti_get(struct ac_services *sv)
{
	if (sv->slot[AC_SERVICE_HTTP])
		return sv->slot[AC_SERVICE_HTTP];
	static bool global_done;
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = true;
	}
	struct ac_curlmulti *cm = ac_calloc(1, sizeof(*cm));
	cm->loop = sv->loop;
	cm->settings = &sv->plan->settings;
	cm->multi = curl_multi_init();
	if (!cm->multi)
		ac_die("curl_multi_init failed");
	/* Idle connections kept for reuse: libcurl's default is four per easy
	 * handle in the multi at that moment, which shrinks to nothing as a
	 * round drains, so the next round would connect afresh. Each check in
	 * flight uses one connection at a time; a journey may reach a second
	 * origin. (No CURLMOPT_MAX_HOST_CONNECTIONS: it would only queue
	 * transfers inside libcurl while their step timers run. No CURLSH
	 * for DNS either: the multi handle already shares one DNS cache among
	 * all its easy handles.) */
	int conc = cm->settings->concurrency > 0 ? cm->settings->concurrency : 1;
	cm->max_idle = (size_t)conc * 2 + 4;
	curl_multi_setopt(cm->multi, CURLMOPT_MAXCONNECTS, (long)conc * 2 + 4);
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETDATA, cm);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERDATA, cm);
	sv->slot[AC_SERVICE_HTTP] = cm;
	sv->destroy[AC_SERVICE_HTTP] = curlmulti_destroy;
	return cm;
}

CURLM *ac_curlmulti_handle(struct ac_curlmulti *cm)
{
	return cm->multi;
}

CURL *ac_curlmulti_take(struct ac_curlmulti *cm)
{
	if (cm->nidle > 0)
		return cm->idle[--cm->nidle];
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	ac_curl_easy_common(e, cm->settings);
	/* An in-memory cookie jar (no file is read). Set once in the handle's
	 * life: every CURLOPT_COOKIEFILE adds to a list that libcurl 7.88
	 * leaks on curl_easy_reset (curl PR 10709), which is never called. */
	curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	return e;
}

/* Whether e's cookie jar is empty. */
static bool jar_empty(CURL *e)
{
	struct curl_slist *cookies = NULL;
	if (curl_easy_getinfo(e, CURLINFO_COOKIELIST, &cookies) != CURLE_OK)
		return false;
	bool empty = cookies == NULL;
	curl_slist_free_all(cookies);
	return empty;
}

void ac_curlmulti_give(struct ac_curlmulti *cm, CURL *e)
{
	if (!e)
		return;
	/* Nothing of the run that used it may reach the next: its cookies
	 * (a fresh visitor every run, and personas never share), and every
	 * pointer into the run's memory. What varies per request (URL,
	 * method, headers, body, timeout) is set again before each one. */
	curl_easy_setopt(e, CURLOPT_COOKIELIST, "ALL");
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
	/* Fail closed: a jar that did not empty is never handed out again. */
	if (cm->nidle >= cm->max_idle || !jar_empty(e)) {
		curl_easy_cleanup(e);
		return;
	}
	if (!cm->idle)
		cm->idle = ac_calloc(cm->max_idle, sizeof(*cm->idle));
	cm->idle[cm->nidle++] = e;
}

static struct url_memo *memo_slot(struct ac_curlmulti *cm, const char *url)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &cm->memo[h % AC_ARRAY_LEN(cm->memo)];
}

bool ac_curlmulti_url_memo(struct ac_curlmulti *cm, const char *url, const char **problem,
			   const char **origin)
{
	struct url_memo *m = memo_slot(cm, url);
	if (!m->url || strcmp(m->url, url) != 0)
		return false;
	*problem = m->problem;
	*origin = m->origin;
	return true;
}

void ac_curlmulti_url_remember(struct ac_curlmulti *cm, const char *url, const char *problem,
			       const char *origin)
{
	struct url_memo *m = memo_slot(cm, url);
	free(m->url);
	free(m->origin);
	m->url = ac_strdup(url);
	m->origin = origin ? ac_strdup(origin) : NULL;
	m->problem = problem;
}
