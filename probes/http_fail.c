/*
 * http_fail.c: why an HTTP transfer failed, in words that name the cause
 * and the limit, not libcurl's ("Out of memory" for a 1 MB header line,
 * "protocol not allowed" for a reply that is not HTTP).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

char *http_size_text(uint64_t n)
{
	if (n && n % (1024 * 1024) == 0)
		return ac_asprintf("%llu MiB", (unsigned long long)(n / (1024 * 1024)));
	if (n && n % 1024 == 0)
		return ac_asprintf("%llu KiB", (unsigned long long)(n / 1024));
	return ac_asprintf("%llu bytes", (unsigned long long)n);
}

char *http_host_port(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *r = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		r = ac_asprintf("%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

static char *host_only(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *r = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		r = ac_strdup(host);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

static char *cap_text(const char *what, uint64_t cap)
{
	char *sz = http_size_text(cap);
	char *r =
	    cap % 1024 == 0
		? ac_asprintf("%s the cap of %llu bytes (%s)", what, (unsigned long long)cap, sz)
		: ac_asprintf("%s the cap of %llu bytes", what, (unsigned long long)cap);
	free(sz);
	return r;
}

/* A timeout: while resolving, while connecting, or waiting for the reply. */
static char *timeout_reason(const struct http_failure *f)
{
	curl_off_t connected = 0;
	curl_easy_getinfo(f->easy, CURLINFO_CONNECT_TIME_T, &connected);
	bool resolving = ac_starts_with(f->errbuf, "Resolving timed out");
	if (!resolving && connected > 0)
		return ac_asprintf("timeout after %lld ms (%s)", (long long)f->duration_ms,
				   f->status ? "response incomplete" : "no response");
	/* The connect timeout covers the name lookup and the TCP and TLS
	 * handshakes; a shorter request limit may have cut it first. */
	bool by_connect = f->connect_timeout_ms <= f->request_timeout_ms;
	long long lim = by_connect ? f->connect_timeout_ms : f->request_timeout_ms;
	const char *which = by_connect ? "connect_timeout" : f->request_limit;
	char *r;
	if (resolving) {
		char *host = host_only(f->url);
		r = ac_asprintf("could not resolve %s: timeout after %lld ms (%s)",
				host ? host : "the host", lim, which);
		free(host);
	} else {
		char *hp = http_host_port(f->url);
		r = ac_asprintf("could not connect to %s: timeout after %lld ms (%s)",
				hp ? hp : "the host", lim, which);
		free(hp);
	}
	return r;
}

static char *connect_reason(const struct http_failure *f)
{
	long err = 0;
	curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &err);
	char *hp = http_host_port(f->url);
	char *r;
	if (err == ECONNREFUSED || err == 0)
		r = ac_asprintf("connection refused by %s", hp ? hp : "the host");
	else
		r = ac_asprintf("could not connect to %s: %s", hp ? hp : "the host",
				strerror((int)err));
	free(hp);
	return r;
}

char *http_failure_reason(const struct http_failure *f, enum ac_state *state)
{
	*state = AC_STATE_FAIL;
	if (f->body_too_big || f->rc == CURLE_FILESIZE_EXCEEDED)
		return cap_text("response body exceeds", f->max_body);
	if (f->hdr_cap == HDR_CAP_COUNT)
		return ac_asprintf("more than %d response headers (cap %d)", HTTP_MAX_HEADERS,
				   HTTP_MAX_HEADERS);
	if (f->hdr_cap == HDR_CAP_BYTES)
		return cap_text("response headers exceed", HTTP_MAX_HEADER_BYTES);
	const char *eb = f->errbuf && *f->errbuf ? f->errbuf : NULL;
	switch (f->rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return timeout_reason(f);
	case CURLE_COULDNT_CONNECT:
		return connect_reason(f);
	case CURLE_COULDNT_RESOLVE_HOST: {
		char *host = host_only(f->url);
		char *r = ac_asprintf("could not resolve %s: host name not found",
				      host ? host : "the host");
		free(host);
		return r;
	}
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* URLs are checked before anything is sent: this is a reply that
		 * has no HTTP status line (libcurl calls it HTTP/0.9). */
		if (eb && strstr(eb, "Unsupported response code"))
			/* a status line whose code is not 100..999 ("HTTP/1.1 000") */
			return ac_strdup("malformed HTTP response: the status code is not a valid "
					 "HTTP status");
		if (eb && !strstr(eb, "HTTP/0.9"))
			break;
		return ac_strdup("malformed HTTP response (not HTTP/1.x or HTTP/2)");
	case CURLE_WEIRD_SERVER_REPLY:
		return ac_asprintf("malformed HTTP response (not HTTP/1.x or HTTP/2)%s%s",
				   eb ? ": " : "", eb ? eb : "");
	case CURLE_OUT_OF_MEMORY:
		/* libcurl 7.88 says "Out of memory" when a header line passes its
		 * own limit; no allocation here is anywhere near that big. */
		return cap_text("response header line exceeds", HTTP_MAX_HEADER_LINE);
	case CURLE_PARTIAL_FILE:
		return ac_strdup(
		    "partial body: the connection closed before the whole response arrived");
	case CURLE_GOT_NOTHING:
		return ac_strdup("empty reply: the server closed the connection without answering");
	case CURLE_RECV_ERROR:
		return ac_strdup("connection reset while receiving");
	case CURLE_SEND_ERROR:
		return ac_strdup("connection reset while sending");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
		*state = AC_STATE_ERROR;
		return ac_asprintf("TLS verification failed: %s%s%s", curl_easy_strerror(f->rc),
				   eb ? ": " : "", eb ? eb : "");
	default:
		break;
	}
	if (f->rc == CURLE_UNSUPPORTED_PROTOCOL)
		return ac_asprintf("protocol not allowed (http and https only)%s%s", eb ? ": " : "",
				   eb ? eb : "");
	return ac_asprintf("%s%s%s", curl_easy_strerror(f->rc), eb ? ": " : "", eb ? eb : "");
}
