/*
 * util.h: the small pieces every module of allclear shares.
 *
 * - struct ac_error: the one error channel for allclear's own failures
 *   (bad scenario, bad invocation). Failures of the product under test
 *   never travel here; they are samples (see result.h).
 * - struct ac_buf: a growable byte buffer with a hard cap, in the spirit of
 *   curl's dynbuf and git's strbuf. buf is never NULL after init and is
 *   always NUL-terminated.
 * - allocation wrappers that die on out-of-memory (git's xmalloc): allclear
 *   has nothing sensible to do without memory, and a half-built verdict is
 *   worse than none.
 * - strict number, duration and size parsers (no atoi, no unchecked strtol).
 * - one logging macro.
 */
#ifndef AC_UTIL_H
#define AC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define AC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes: the contract with pipelines and alerting. */
enum ac_exit {
	AC_EXIT_RESTORED = 0,
	AC_EXIT_NOT_RESTORED = 1,
	AC_EXIT_INCONCLUSIVE = 2,
	AC_EXIT_USAGE = 3,
};

struct ac_error {
	int code; /* 0 when no error was recorded */
	char msg[1024];
};

/* Record a message in err (which may be NULL) and return -1, so that
 * `return ac_error_set(err, "...")` reads well. */
int ac_error_set(struct ac_error *err, const char *fmt, ...) AC_PRINTF(2, 3);
void ac_error_clear(struct ac_error *err);

/* Allocation: never returns NULL (dies with a message instead). */
void *ac_malloc(size_t n);
void *ac_calloc(size_t n, size_t size);
void *ac_realloc(void *p, size_t n);
char *ac_strdup(const char *s);
char *ac_strndup(const char *s, size_t n);
char *ac_asprintf(const char *fmt, ...) AC_PRINTF(1, 2);
char *ac_vasprintf(const char *fmt, va_list ap) AC_PRINTF(1, 0);
_Noreturn void ac_die(const char *fmt, ...) AC_PRINTF(1, 2);

/* Grow *arr (of element size sz) so that it holds at least n elements. */
#define AC_GROW(arr, n, alloc)                                                                     \
	do {                                                                                       \
		if ((n) > (alloc)) {                                                               \
			size_t ac_grow_new_ = (alloc) ? (alloc)*2 : 8;                             \
			while (ac_grow_new_ < (n))                                                 \
				ac_grow_new_ *= 2;                                                 \
			(arr) = ac_realloc((arr), ac_grow_new_ * sizeof(*(arr)));                  \
			(alloc) = ac_grow_new_;                                                    \
		}                                                                                  \
	} while (0)

/*
 * A growable buffer with a cap. Appending past the cap keeps what fits,
 * sets `truncated` and returns -1. buf is always NUL-terminated.
 */
struct ac_buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap; /* maximum len; SIZE_MAX for none */
	bool truncated;
};
extern char ac_buf_empty[];
#define AC_BUF_INIT                                                                                \
	{                                                                                          \
		ac_buf_empty, 0, 0, SIZE_MAX, false                                                \
	}

void ac_buf_init(struct ac_buf *b, size_t cap);
int ac_buf_add(struct ac_buf *b, const void *data, size_t n);
int ac_buf_adds(struct ac_buf *b, const char *s);
int ac_buf_addc(struct ac_buf *b, char c);
int ac_buf_addf(struct ac_buf *b, const char *fmt, ...) AC_PRINTF(2, 3);
void ac_buf_reset(struct ac_buf *b);
/* Hand the string to the caller (who frees it) and re-initialise b. */
char *ac_buf_detach(struct ac_buf *b);
void ac_buf_release(struct ac_buf *b);

/* Read a whole file into b (initialised here with cap). On failure returns
 * -1 with err saying "cannot open: ...", "read error" or "larger than N
 * bytes" (without the path: callers say which file). */
int ac_read_file(const char *path, size_t cap, struct ac_buf *b, struct ac_error *err);

/* Strict parsers: the whole string must be consumed; 0 on success. */
int ac_parse_long(const char *s, long *out);
/* Plain decimal ([+-] digits [. digits] [e [+-] digits]), finite: no hex,
 * "inf", "nan" or blanks. */
int ac_parse_double(const char *s, double *out);
/* The value of one hexadecimal digit (either case), or -1. */
int ac_hexval(unsigned char c);
/* "250ms", "5s", "2m", "1h", "1m30s"; a bare number is milliseconds. */
int ac_parse_duration_ms(const char *s, int64_t *out);
/* "512", "64KiB", "8MiB", "1GiB", "10kB", "5MB". */
int ac_parse_size(const char *s, uint64_t *out);
/* Format a duration for people: "850 ms", "4.2 s", "3 m 10 s". */
void ac_format_duration(char *out, size_t n, int64_t ms);

/* Edit distance, for "did you mean" suggestions. */
size_t ac_levenshtein(const char *a, const char *b);
/* The candidate nearest to word, or NULL if none is close enough. */
const char *ac_suggest(const char *word, const char *const *candidates, size_t n);

/* A short, printable excerpt of text: control characters become spaces or
 * escapes, and text longer than max is cut with a trailing "...". */
char *ac_excerpt(const char *text, size_t len, size_t max);

bool ac_streq(const char *a, const char *b);
bool ac_starts_with(const char *s, const char *prefix);

/* Logging to stderr, with the source position of the call. */
enum ac_log_level { AC_LOG_SILENT, AC_LOG_ERROR, AC_LOG_INFO, AC_LOG_DEBUG };
extern enum ac_log_level ac_log_verbosity;
void ac_log_at(enum ac_log_level level, const char *file, int line, const char *fmt, ...)
    AC_PRINTF(4, 5);
#define ac_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) <= ac_log_verbosity)                                                   \
			ac_log_at((level), __FILE__, __LINE__, __VA_ARGS__);                       \
	} while (0)

/* Shell-style wall-clock timestamp, "2026-11-24T14:03:10Z", from epoch ms. */
void ac_format_utc(char *out, size_t n, int64_t epoch_ms);

/* A copy of text that cannot drive a terminal: C0 controls (newline and
 * tab included), DEL and bytes that are not valid UTF-8 become "\xNN", C1
 * controls written in UTF-8 (U+0080-U+009F) become "\u0080". Everything
 * else, printable UTF-8 included, is kept. For names and messages printed
 * as one line; NULL gives NULL. The caller frees it. */
char *ac_text_escape(const char *text);
/* The same, keeping newlines and tabs (multi-line text, XML). */
char *ac_text_escape_lines(const char *text);
/* Only bytes that are not valid UTF-8 escaped ("\xNN"); controls are left
 * to a writer that escapes them (JSON). */
char *ac_text_utf8(const char *text);
/* True when text holds a character ac_text_escape would escape. */
bool ac_text_has_control(const char *text);

/* A list of strings and a list of name/value pairs (the typed field
 * walker fills them, src/cfg.h). Release frees the items and zeroes. */
struct ac_strings {
	char **v;
	size_t n;
};
void ac_strings_release(struct ac_strings *s);

struct ac_kv {
	char *name;
	char *value;
};
struct ac_kvs {
	struct ac_kv *v;
	size_t n;
};
void ac_kvs_release(struct ac_kvs *k);

#endif
