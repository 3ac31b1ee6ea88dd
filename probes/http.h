/*
 * http.h: parts of the http probe kind (probes/http.c) that live in their
 * own files.
 */
#ifndef AC_PROBES_HTTP_H
#define AC_PROBES_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "result.h"

/* Response-size limits of one request. */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_MAX_HEADERS 1000
#define HTTP_MAX_HEADER_LINE (100 * 1024) /* libcurl's CURL_MAX_HTTP_HEADER */

enum http_hdr_cap { HDR_CAP_NONE, HDR_CAP_COUNT, HDR_CAP_BYTES };

/* What is known about a transfer that ended with an error. */
struct http_failure {
	CURLcode rc;
	CURL *easy;
	const char *url;    /* what was requested (unmasked: only host and port are quoted) */
	const char *errbuf; /* libcurl's error buffer */
	long status;	    /* 0 before a status line */
	int64_t duration_ms;
	int64_t connect_timeout_ms;
	int64_t request_timeout_ms; /* CURLOPT_TIMEOUT_MS of the request */
	const char *request_limit;  /* what set request_timeout_ms: "step timeout", ... */
	bool body_too_big;
	uint64_t max_body;
	enum http_hdr_cap hdr_cap;
};

/* The reason for a failed transfer, naming the cause and the limit
 * ("connection refused by 127.0.0.1:8080", "response body exceeds the cap
 * of 1048576 bytes (1 MiB)"), and whether it is a FAIL (the product) or an
 * ERROR (nothing measured: TLS verification). */
char *http_failure_reason(const struct http_failure *f, enum ac_state *state);

/* "1 MiB", "64 KiB", "1500 bytes". */
char *http_size_text(uint64_t n);

/* "host:port" of a URL (the default port made explicit); NULL if it cannot
 * be parsed. */
char *http_host_port(const char *url);

#endif
