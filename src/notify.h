/*
 * notify.h: webhook notifications on the engine's loop.
 *
 * A JSON POST when the verdict so far or a check's state changes from one
 * round to the next, and one at the end (--notify-on change|end|both). The
 * body has a one-line "text" field that Slack and Mattermost show as is
 * (verdict, what changed, owner) and the same facts as fields. Posts go
 * through the run's libcurl multi handle on the engine's loop, so a round
 * never waits for a webhook; each destination gets its messages in order,
 * one at a time, with a bounded number of retries (connection errors and
 * 5xx, backing off). A webhook that fails is reported on stderr and in the
 * result, and never changes the verdict.
 *
 * Everything in a body comes from the result tree (masked); the body is
 * masked once more, and the destination is named by host only (a Slack
 * webhook's path is its secret).
 */
#ifndef AC_NOTIFY_H
#define AC_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "probe.h"
#include "result.h"

enum ac_notify_on { AC_NOTIFY_CHANGE = 1, AC_NOTIFY_END = 2, AC_NOTIFY_BOTH = 3 };

struct ac_notify_opts {
	const char *const *urls;
	size_t nurls;
	enum ac_notify_on on;
	const struct ac_kvs *headers; /* sent with every post (may be NULL) */
	int max_tries;		      /* per message (default 3) */
	int64_t timeout_ms;	      /* per try (default 5 s) */
	int64_t backoff_ms;	      /* before the first retry, doubled after (default 500) */
};

/* Messages queued per destination at most; more are dropped and counted. */
#define AC_NOTIFY_MAX_QUEUE 1000

struct ac_notifier;

struct ac_notifier *ac_notifier_create(const struct ac_notify_opts *o, struct ac_services *sv);
/* After a round is judged: post what changed since the last round (the
 * first round only records the state). */
void ac_notifier_round(struct ac_notifier *n, const struct ac_result *r);
/* After the final judgment: post the end (when asked to). */
void ac_notifier_end(struct ac_notifier *n, const struct ac_result *r);
/* Whether posts are queued or in flight. */
bool ac_notifier_busy(const struct ac_notifier *n);
/* Give up what is left (counted as failed: "the run ended"), and copy the
 * counts and the first failure into r. */
void ac_notifier_finish(struct ac_notifier *n, struct ac_result *r);
void ac_notifier_destroy(struct ac_notifier *n);

/* The body of a message, for tests: changes since prev (NULL states: the
 * end of the run). The caller frees it. */
char *ac_notify_body(const struct ac_result *r, bool final, enum ac_verdict prev_verdict,
		     const unsigned char *prev_states, size_t round);

#endif
