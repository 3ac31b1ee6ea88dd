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

/* Columns of UTF-8 text: one per character (names are escaped text). */
static size_t cols_of(const char *s, size_t len)
{
	size_t c = 0;
	for (size_t i = 0; i < len; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* The byte length of the first cols characters of s. */
static size_t bytes_for_cols(const char *s, size_t cols)
{
	size_t i = 0;
	for (size_t c = 0; s[i] && c < cols; c++) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

/* The byte offset where the last cols characters of s begin. */
static size_t tail_for_cols(const char *s, size_t cols)
{
	size_t len = strlen(s), total = cols_of(s, len);
	return total <= cols ? 0 : bytes_for_cols(s, total - cols);
}

char *ac_live_fit(const char *text, size_t cols, bool utf8)
{
	size_t len = strlen(text);
	if (cols_of(text, len) <= cols)
		return ac_strdup(text);
	const char *dots = utf8 ? "\u2026" : "...";
	size_t ndots = utf8 ? 1 : 3;
	struct ac_buf b = AC_BUF_INIT;
	if (cols <= ndots) {
		ac_buf_add(&b, text, bytes_for_cols(text, cols));
		return ac_buf_detach(&b);
	}
	/* Keep " @ target" whole when it leaves room for some of the name. */
	const char *at = NULL;
	for (const char *p = strstr(text, " @ "); p; p = strstr(p + 1, " @ "))
		at = p;
	size_t tail_cols = at ? cols_of(at, strlen(at)) : 0;
	size_t room = cols - ndots;
	if (at && tail_cols + 4 <= room) {
		size_t head = room - tail_cols;
		/* the name's start and end, around the cut */
		size_t name_len = (size_t)(at - text);
		char *name = ac_strndup(text, name_len);
		size_t front = (head + 1) / 2, back = head - front;
		ac_buf_add(&b, name, bytes_for_cols(name, front));
		ac_buf_adds(&b, dots);
		ac_buf_adds(&b, name + tail_for_cols(name, back));
		ac_buf_adds(&b, at);
		free(name);
	} else {
		size_t front = (room + 1) / 2, back = room - front;
		ac_buf_add(&b, text, bytes_for_cols(text, front));
		ac_buf_adds(&b, dots);
		ac_buf_adds(&b, text + tail_for_cols(text, back));
	}
	return ac_buf_detach(&b);
}

/* "%-*s" by columns, not bytes: pad text to cols. */
static void put_padded(FILE *f, const char *text, size_t cols)
{
	size_t c = cols_of(text, strlen(text));
	fputs(text, f);
	for (; c < cols; c++)
		fputc(' ', f);
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
	/* Columns: "  STATE " (8), the name, " VALUE" (11), "  SPARK" (18),
	 * " green 1h2m" (up to 16). The name gets what is left, at least 16;
	 * on a narrow terminal the sparkline and "green" go first. */
	size_t width = lv->width > 0 ? (size_t)lv->width : 80;
	bool show_green = width >= 8 + 24 + 11 + 18 + 16;
	bool show_spark = width >= 8 + 20 + 11 + 18;
	size_t fixed = 8 + 11 + (show_spark ? 18 : 0) + (show_green ? 16 : 0) + 1;
	size_t id_cols = width > fixed + 16 ? width - fixed : 16;
	if (id_cols > 100)
		id_cols = 100;
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
		 * move the cursor or clear the screen. Then cut to the name
		 * column, which takes what the terminal's width leaves. */
		char *esc = ac_text_escape(cr->id ? cr->id : "");
		char *id = ac_live_fit(esc, id_cols, lv->utf8);
		free(esc);
		fprintf(f, "  %s%-5s%s ", c, ac_state_name(s), reset);
		put_padded(f, id, id_cols);
		fprintf(f, " %10.10s", value);
		if (show_spark)
			fprintf(f, "  %s", spark);
		if (show_green && *green_for)
			fprintf(f, "%*s %s", (int)(SPARK_WIDTH - cols_of(spark, strlen(spark))), "",
				green_for);
		fputc('\n', f);
		free(id);
		lv->lines++;
		shown++;
	}
	fflush(f);
}
