/*
 * curlmulti.h: libcurl's multi interface on the engine's loop.
 *
 * One multi handle per run, shared by every kind that speaks HTTP (journeys,
 * metric scrapes), in run->services. An easy handle's CURLOPT_PRIVATE must
 * point at a struct ac_curl_job; when the transfer ends, the job's done()
 * is called with libcurl's result, from a loop callback.
 */
#ifndef AC_CURLMULTI_H
#define AC_CURLMULTI_H

#include <curl/curl.h>

#include "probe.h"

struct ac_curl_job {
	void (*done)(struct ac_curl_job *job, CURLcode rc);
};

struct ac_curlmulti;

/* Options every easy handle of a run shares (journeys and metric scrapes):
 * no signals, http and https only, the connect timeout, TLS settings, the
 * user agent, and QUICK_EXIT: libcurl 7.88's threaded resolver is otherwise
 * joined when a transfer ends, so a DNS server that never answers would
 * freeze the whole loop (every check, deadline and signal) for the
 * resolver's own ~10 s. With it the lookup thread is left to finish alone. */
void ac_curl_easy_common(CURL *easy, const struct ac_settings *set);

/* The run's multi handle, created on first use. */
struct ac_curlmulti *ac_curlmulti_get(struct ac_services *sv);
CURLM *ac_curlmulti_handle(struct ac_curlmulti *cm);

/* Journey handles, pooled for the whole run so that journey runs reuse
 * libcurl's per-handle state instead of building it afresh. A handle from
 * take() has the common options and an empty in-memory cookie jar; the
 * caller sets its callbacks, CURLOPT_PRIVATE and everything per request.
 * give() (the handle out of the multi) empties its jar and forgets every
 * pointer the caller set, then keeps it for the next take() (or cleans it
 * up). NULL from take() when libcurl cannot make one. */
CURL *ac_curlmulti_take(struct ac_curlmulti *cm);
void ac_curlmulti_give(struct ac_curlmulti *cm, CURL *easy);

/* What a URL check answered for exactly this URL earlier in the run (a
 * journey's URLs repeat run after run, and parsing one with libcurl's URL
 * API costs more than the rest of the request's own work): problem
 * (a static string, or NULL) and origin (NULL or owned by the memo, valid
 * until the next call). False when not remembered. The memo holds 256
 * URLs; a newer one takes an older one's slot. */
bool ac_curlmulti_url_memo(struct ac_curlmulti *cm, const char *url, const char **problem,
			   const char **origin);
void ac_curlmulti_url_remember(struct ac_curlmulti *cm, const char *url, const char *problem,
			       const char *origin);

#endif
