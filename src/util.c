/*
 * util.c: errors, allocation, capped buffers, strict parsers, logging.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char ac_buf_empty[1];
enum ac_log_level ac_log_verbosity = AC_LOG_ERROR;

int ac_error_set(struct ac_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = -1;
	}
	return -1;
}

void ac_error_clear(struct ac_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

_Noreturn void ac_die(const char *fmt, ...)
{
	va_list ap;
	fputs("allclear: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(AC_EXIT_USAGE);
}

void *ac_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		ac_die("out of memory allocating %zu bytes", n);
	return p;
}

void *ac_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		ac_die("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *ac_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		ac_die("out of memory allocating %zu bytes", n);
	return q;
}

char *ac_strdup(const char *s)
{
	return ac_strndup(s ? s : "", s ? strlen(s) : 0);
}

char *ac_strndup(const char *s, size_t n)
{
	char *p = ac_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ac_vasprintf(const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		ac_die("bad format string");
	char *p = ac_malloc((size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *ac_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = ac_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void ac_buf_init(struct ac_buf *b, size_t cap)
{
	b->buf = ac_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->truncated = false;
}

int ac_buf_add(struct ac_buf *b, const void *data, size_t n)
{
	int rc = 0;
	if (n > b->cap - b->len) {
		n = b->cap - b->len;
		b->truncated = true;
		rc = -1;
	}
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 64;
		while (want < b->len + n + 1)
			want *= 2;
		if (b->alloc == 0) {
			b->buf = ac_malloc(want);
			b->buf[0] = '\0';
		} else {
			b->buf = ac_realloc(b->buf, want);
		}
		b->alloc = want;
	}
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return rc;
}

int ac_buf_adds(struct ac_buf *b, const char *s)
{
	return ac_buf_add(b, s, strlen(s));
}

int ac_buf_addc(struct ac_buf *b, char c)
{
	return ac_buf_add(b, &c, 1);
}

int ac_buf_addf(struct ac_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = ac_vasprintf(fmt, ap);
	va_end(ap);
	int rc = ac_buf_adds(b, s);
	free(s);
	return rc;
}

void ac_buf_reset(struct ac_buf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->alloc)
		b->buf[0] = '\0';
}

char *ac_buf_detach(struct ac_buf *b)
{
	char *s = b->alloc ? b->buf : ac_strdup("");
	ac_buf_init(b, b->cap);
	return s;
}

void ac_buf_release(struct ac_buf *b)
{
	if (b->alloc)
		free(b->buf);
	ac_buf_init(b, b->cap);
}

int ac_read_file(const char *path, size_t cap, struct ac_buf *b, struct ac_error *err)
{
	ac_buf_init(b, cap);
	/* Opened without blocking: a FIFO with no writer would otherwise hold
	 * the run at open(2) forever, and a device could at read(2). Only a
	 * regular file has an end that is sure to come. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return ac_error_set(err, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ac_error_set(err, "not a regular file (a pipe or a device could block "
					 "the run)");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return ac_error_set(err, "cannot open: %s", strerror(errno));
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ac_buf_add(b, chunk, n) < 0)
			break;
	bool ioerr = ferror(f);
	fclose(f);
	if (b->truncated || ioerr) {
		ac_buf_release(b);
		if (ioerr)
			return ac_error_set(err, "read error");
		return ac_error_set(err, "larger than %zu bytes", cap);
	}
	return 0;
}

int ac_parse_long(const char *s, long *out)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Plain decimal only: [+-] digits [. digits] [e [+-] digits], at least one
 * digit before the exponent. strtod alone would also take hex ("0x10" is
 * 16), "inf", "nan" and leading blanks. */
static bool plain_decimal(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t digits = 0;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++, digits++;
	}
	if (digits == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

int ac_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ac_parse_double(const char *s, double *out)
{
	if (!s || !plain_decimal(s))
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int ac_parse_duration_ms(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	double total = 0;
	const char *p = s;
	bool first = true;
	while (*p) {
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		errno = 0;
		char *end;
		double v = strtod(p, &end);
		if (errno || end == p || !isfinite(v) || v < 0)
			return -1;
		p = end;
		double mult;
		if (!*p && first)
			mult = 1; /* a bare number is milliseconds */
		else if (ac_starts_with(p, "ms"))
			mult = 1, p += 2;
		else if (*p == 's')
			mult = 1000, p++;
		else if (*p == 'm')
			mult = 60000, p++;
		else if (*p == 'h')
			mult = 3600000, p++;
		else
			return -1;
		total += v * mult;
		first = false;
	}
	if (total > 9.0e15)
		return -1;
	*out = (int64_t)(total + 0.5);
	return 0;
}

int ac_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
	    {"", 1},
	    {"B", 1},
	    {"KiB", 1024},
	    {"MiB", 1024 * 1024},
	    {"GiB", 1024ull * 1024 * 1024},
	    {"kB", 1000},
	    {"KB", 1000},
	    {"MB", 1000 * 1000},
	    {"GB", 1000ull * 1000 * 1000},
	};
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < AC_ARRAY_LEN(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -1;
			*out = v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

void ac_format_duration(char *out, size_t n, int64_t ms)
{
	if (ms < 1000)
		snprintf(out, n, "%lld ms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, n, "%.1f s", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, n, "%lld m %lld s", (long long)(ms / 60000),
			 (long long)(ms % 60000 / 1000));
	else
		snprintf(out, n, "%lld h %lld m", (long long)(ms / 3600000),
			 (long long)(ms % 3600000 / 60000));
}

size_t ac_levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 1000;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost =
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
				? 0
				: 1;
			size_t best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			cur[j] = best;
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *ac_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t wl = strlen(word);
	for (size_t i = 0; i < n; i++) {
		if (!candidates[i])
			continue;
		size_t d = ac_levenshtein(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	size_t limit = wl <= 3 ? 1 : wl <= 6 ? 2 : 3;
	return best_d <= limit ? best : NULL;
}

char *ac_excerpt(const char *text, size_t len, size_t max)
{
	struct ac_buf b = AC_BUF_INIT;
	size_t i;
	bool space = false;
	for (i = 0; i < len && b.len < max; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
			if (!space && b.len)
				ac_buf_addc(&b, ' ');
			space = true;
			continue;
		}
		space = false;
		if (c < 0x20 || c == 0x7f) {
			ac_buf_addf(&b, "\\x%02x", c);
		} else if (c == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
			   (unsigned char)text[i + 1] <= 0x9f) {
			/* C1 controls in UTF-8 drive terminals as ESC does. */
			ac_buf_addf(&b, "\\u%04x", (unsigned char)text[i + 1]);
			i++;
		} else if (c >= 0x80) {
			/* A whole, valid UTF-8 sequence or nothing: never cut one in
			 * two, and stray bytes are shown as \xNN. */
			size_t n = c >= 0xc2 && c <= 0xdf   ? 2
				   : c >= 0xe0 && c <= 0xef ? 3
				   : c >= 0xf0 && c <= 0xf4 ? 4
							    : 0;
			for (size_t k = 1; n && k < n; k++)
				if (i + k >= len || ((unsigned char)text[i + k] & 0xc0) != 0x80)
					n = 0;
			if (!n) {
				ac_buf_addf(&b, "\\x%02x", c);
				continue;
			}
			if (b.len + n > max)
				break;
			ac_buf_add(&b, text + i, n);
			i += n - 1;
		} else {
			ac_buf_addc(&b, (char)c);
		}
	}
	if (i < len)
		ac_buf_adds(&b, "...");
	return ac_buf_detach(&b);
}

bool ac_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool ac_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void ac_log_at(enum ac_log_level level, const char *file, int line, const char *fmt, ...)
{
	static const char *names[] = {"", "error", "info", "debug"};
	va_list ap;
	fprintf(stderr, "allclear: %s: [%s:%d] ", names[level], file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ac_format_utc(char *out, size_t n, int64_t epoch_ms)
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The length of the valid UTF-8 sequence at s (2-4), or 0. Overlong
 * forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_len(const unsigned char *s, long *cp)
{
	unsigned char c = s[0];
	size_t n;
	long v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
		return 0;
	*cp = v;
	return n;
}

/* Bytes of the character at s to keep as they are; 0: escape s[0] (and
 * *cp holds a C1 code point when the character is one). */
static size_t printable_at(const unsigned char *s, long *cp)
{
	*cp = -1;
	if (*s >= 0x20 && *s < 0x7f)
		return 1;
	if (*s < 0x80)
		return 0;
	long v;
	size_t n = utf8_len(s, &v);
	if (n && v >= 0x80 && v < 0xa0) {
		*cp = v;
		return 0;
	}
	return n;
}

bool ac_text_has_control(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	while (s && *s) {
		long cp;
		size_t n = printable_at(s, &cp);
		if (!n)
			return true;
		s += n;
	}
	return false;
}

/* keep_nl_tab: newline and tab stay; keep_controls: only bytes that are
 * not UTF-8 are escaped. */
static char *escape(const char *text, bool keep_nl_tab, bool keep_controls)
{
	if (!text)
		return NULL;
	struct ac_buf b = AC_BUF_INIT;
	const unsigned char *s = (const unsigned char *)text, *run = s;
	while (*s) {
		long cp;
		size_t n = printable_at(s, &cp);
		if (!n && (keep_controls || (keep_nl_tab && (*s == '\n' || *s == '\t'))) &&
		    (*s < 0x80 || cp >= 0))
			n = *s < 0x80 ? 1 : 2;
		if (n) {
			s += n;
			continue;
		}
		ac_buf_add(&b, run, (size_t)(s - run));
		if (cp >= 0) {
			ac_buf_addf(&b, "\\u%04lx", cp);
			s += 2;
		} else {
			ac_buf_addf(&b, "\\x%02x", *s);
			s++;
		}
		run = s;
	}
	ac_buf_add(&b, run, (size_t)(s - run));
	return ac_buf_detach(&b);
}

char *ac_text_escape(const char *text)
{
	return escape(text, false, false);
}

char *ac_text_escape_lines(const char *text)
{
	return escape(text, true, false);
}

char *ac_text_utf8(const char *text)
{
	return escape(text, false, true);
}

void ac_strings_release(struct ac_strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void ac_kvs_release(struct ac_kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].name);
		free(k->v[i].value);
	}
	free(k->v);
	memset(k, 0, sizeof(*k));
}
