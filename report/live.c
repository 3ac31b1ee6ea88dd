/*
 * live.c: the live view on stderr while rounds run.
 *
 * On a terminal: a compact table redrawn each round, one line per check
 * with its state, latest value, a sparkline of recent values (or states)
 * and how long it has been green; the time left and the verdict so far.
 * Elsewhere (a CI log, a pipe): one plain line per round.
 */
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "result.h"
#include "util.h"

#define SPARK_WIDTH 16

static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
				   "\u2585", "\u2586", "\u2587", "\u2588"};

void ac_live_sparkline(const struct ac_history *h, char *out, size_t n, bool utf8)
{
	size_t first = h->len > SPARK_WIDTH ? h->len - SPARK_WIDTH : 0;
	double lo = 0, hi = 0;
	bool any = false;
	for (size_t i = first; i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		if (!p->has_value)
			continue;
		if (!any || p->value < lo)
			lo = p->value;
		if (!any || p->value > hi)
			hi = p->value;
		any = true;
	}
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = first; i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		if (any && p->has_value && utf8) {
			int k = hi > lo ? (int)((p->value - lo) / (hi - lo) * 7.0 + 0.5) : 3;
			ac_buf_adds(&b, bars[k < 0 ? 0 : k > 7 ? 7 : k]);
		} else {
			/* States when there is no value: . pass, x fail, ? not measured */
			ac_buf_addc(&b, p->state == AC_STATE_PASS   ? '.'
					: p->state == AC_STATE_FAIL ? 'x'
								    : '?');
		}
	}
	snprintf(out, n, "%s", b.buf);
	ac_buf_release(&b);
}

void ac_live_round(struct ac_live *lv, const struct ac_result *r, int64_t time_left_ms,
		   int64_t now_wall_ms)
{
	FILE *f = lv->out;
	if (lv->quiet)
		return;
	size_t pass = 0, fail = 0, err = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		enum ac_state s =
		    r->checks[i].has_last ? r->checks[i].last.state : AC_STATE_PENDING;
		pass += s == AC_STATE_PASS;
		fail += s == AC_STATE_FAIL;
		err += s != AC_STATE_PASS && s != AC_STATE_FAIL;
	}
	char left[32] = "";
	if (time_left_ms > 0)
		ac_format_duration(left, sizeof(left), time_left_ms);
	if (!lv->tty) {
		fprintf(f,
			"allclear: round %d: %zu pass, %zu fail, %zu not measured; so far: "
			"%s%s%s%s%s%s\n",
			r->rounds, pass, fail, err, ac_verdict_name(r->verdict), *left ? " (" : "",
			left, *left ? " left)" : "", r->restore_text[0] ? "; " : "",
			r->restore_text);
		fflush(f);
		return;
	}
	const char *red = lv->color ? "\033[31m" : "", *green = lv->color ? "\033[32m" : "",
		   *yellow = lv->color ? "\033[33m" : "", *reset = lv->color ? "\033[0m" : "";
	/* Move up over the previous table and clear to the end of the screen. */
	if (lv->lines)
		fprintf(f, "\033[%dA\r\033[J", lv->lines);
	lv->lines = 0;
	fprintf(f, "round %d%s%s%s   so far: %s%s%s\n", r->rounds, *left ? ", " : "", left,
		*left ? " left" : "",
		r->verdict == AC_RESTORED	? green
		: r->verdict == AC_NOT_RESTORED ? red
						: yellow,
		ac_verdict_name(r->verdict), reset);
	lv->lines++;
	if (r->restore_text[0]) {
		char *e = ac_text_escape(r->restore_text);
		fprintf(f, "  %s\n", e);
		free(e);
		lv->lines++;
	}
	size_t shown = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (shown >= (size_t)lv->max_rows) {
			fprintf(f, "  ... %zu more\n", r->nchecks - shown);
			lv->lines++;
			break;
		}
		enum ac_state s = cr->has_last ? cr->last.state : AC_STATE_PENDING;
		char spark[SPARK_WIDTH * 4 + 1];
		ac_live_sparkline(&cr->history, spark, sizeof(spark), lv->utf8);
		char value[32] = "-";
		if (cr->has_last && cr->last.has_value)
			snprintf(value, sizeof(value), "%.6g", cr->last.value);
		char green_for[32] = "";
		if (s == AC_STATE_PASS && cr->green_since_wall) {
			char d[24];
			ac_format_duration(d, sizeof(d), now_wall_ms - cr->green_since_wall);
			snprintf(green_for, sizeof(green_for), "green %s", d);
		}
		const char *c = s == AC_STATE_PASS ? green : s == AC_STATE_FAIL ? red : yellow;
		/* Names are escaped: a control character in one must not
		 * move the cursor or clear the screen. */
		char *id = ac_text_escape(cr->id ? cr->id : "");
		size_t cut = strlen(id);
		if (cut > 40) {
			/* Shown in 40 bytes: never half a UTF-8 character. */
			cut = 40;
			while (cut > 0 && ((unsigned char)id[cut] & 0xc0) == 0x80)
				cut--;
			id[cut] = '\0';
		}
		fprintf(f, "  %s%-5s%s %-40.40s %10s  %-16s %s\n", c, ac_state_name(s), reset, id,
			value, spark, green_for);
		free(id);
		lv->lines++;
		shown++;
	}
	fflush(f);
}
