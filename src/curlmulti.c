/*
 * curlmulti.c: libcurl's multi interface on the engine's loop.
 */
#include "curlmulti.h"

#include <stdlib.h>

#include "loop.h"
#include "util.h"

struct ac_curlmulti {
	CURLM *multi;
	struct ac_loop *loop;
	struct ac_timer timer;
	int running;
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
	cm->multi = curl_multi_init();
	if (!cm->multi)
		ac_die("curl_multi_init failed");
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
