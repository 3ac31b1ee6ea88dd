/*
 * test_metric.h: what the files of the metric suite share.
 */
#ifndef AC_TEST_METRIC_H
#define AC_TEST_METRIC_H

#include <check.h>

#include "hostile.h"

/* A /metrics server whose counters move with every scrape: 100 requests
 * and 10 errors per scrape, latency in the first bucket; /nan serves NaN,
 * /flat never moves, /cut serves OpenMetrics without # EOF, /500 fails. */
void metric_server(int fd, const struct hs_request *q, void *ud);

/* A metric check owned by "web" in area "code"; body holds its other
 * members. */
#define M(name, body)                                                                              \
	"{\"kind\": \"metric\", \"name\": \"" name                                                 \
	"\", \"area\": \"code\", \"owner\": \"web\", " body "}"

/* The members of an error-ratio check of r_total on port/path (extra:
 * more members, starting with ", "). The caller frees them. */
char *ratio_check_x(int port, const char *path, const char *expect, const char *extra);
char *ratio_check(int port, const char *path, const char *expect);

/* The tests of test_metric_scrape.c and test_metric_window.c, added to the
 * "metric" test case. */
void metric_scrape_tests(TCase *tc);
void metric_window_tests(TCase *tc);

#endif
