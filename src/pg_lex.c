/*
 * pg_lex.c: PostgreSQL's lexical rules, as far as allclear needs them to
 * tell one statement from several before anything is sent (see pg.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "pg.h"

static bool ident_start(unsigned char ch)
{
	return isalpha(ch) || ch == '_' || ch >= 0x80;
}

static bool ident_cont(unsigned char ch)
{
	return ident_start(ch) || isdigit(ch) || ch == '$';
}

/* p at a slash-star: past the comment, which nests as in PostgreSQL. */
static const char *skip_comment(const char *p)
{
	int depth = 0;
	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			depth++;
			p += 2;
		} else if (p[0] == '*' && p[1] == '/') {
			p += 2;
			if (--depth == 0)
				break;
		} else {
			p++;
		}
	}
	return p;
}

const char *ac_pg_skip_blanks(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			p = skip_comment(p);
		} else {
			return p;
		}
	}
}

/* p at the opening quote: past the closing one. Doubled quotes stand for
 * one; in E'' strings a backslash escapes the next character. (Standard
 * strings take backslashes literally: the transaction sets
 * standard_conforming_strings on so that the server agrees.) */
static const char *skip_quoted(const char *p, bool backslashes)
{
	char q = *p++;
	while (*p) {
		if (backslashes && *p == '\\' && p[1]) {
			p += 2;
		} else if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p += 2;
		} else {
			p++;
		}
	}
	return p;
}

/* p at a dollar sign that starts a dollar quote ($$ or $tag$): past its
 * end; NULL when it is not one. */
static const char *skip_dollar_quote(const char *p)
{
	const char *e = p + 1;
	if (*e != '$') {
		if (!ident_start((unsigned char)*e))
			return NULL;
		while (ident_cont((unsigned char)*e) && *e != '$')
			e++;
		if (*e != '$')
			return NULL;
	}
	size_t tl = (size_t)(e - p) + 1;
	const char *close = strchr(e + 1, '$');
	while (close && strncmp(close, p, tl) != 0)
		close = strchr(close + 1, '$');
	return close ? close + tl : p + strlen(p);
}

/* The tokens the two scanners below need: words (keywords and
 * identifiers), quoted identifiers, ';' and everything else (strings,
 * comments, numbers, dollar-quoted bodies and punctuation are skipped
 * whole). */
enum tok_kind { TOK_END, TOK_WORD, TOK_QUOTED_IDENT, TOK_SEMICOLON, TOK_OTHER };

struct tok {
	enum tok_kind kind;
	const char *w; /* TOK_WORD, TOK_QUOTED_IDENT: the name */
	size_t n;
};

/* Read the token at p into t; returns where the next one starts. */
static const char *next_token(const char *p, struct tok *t)
{
	unsigned char ch = (unsigned char)*p;
	t->kind = TOK_OTHER;
	t->w = NULL;
	t->n = 0;
	if (!ch) {
		t->kind = TOK_END;
		return p;
	}
	if (ch == '"') {
		const char *w = p + 1;
		p = skip_quoted(p, false);
		if (p > w && p[-1] == '"') {
			t->kind = TOK_QUOTED_IDENT;
			t->w = w;
			t->n = (size_t)(p - 1 - w);
		}
		return p;
	}
	if (ch == '\'')
		return skip_quoted(p, false);
	if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*'))
		return ac_pg_skip_blanks(p);
	if (ident_start(ch)) {
		/* A keyword or identifier ($ may continue one); E'' and e''
		 * start a string with backslash escapes. */
		const char *w = p;
		while (ident_cont((unsigned char)*p))
			p++;
		if (p - w == 1 && (*w == 'e' || *w == 'E') && *p == '\'')
			return skip_quoted(p, true);
		t->kind = TOK_WORD;
		t->w = w;
		t->n = (size_t)(p - w);
		return p;
	}
	if (isdigit(ch)) {
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
			p++;
		return p;
	}
	if (ch == '$') {
		const char *e = skip_dollar_quote(p);
		return e ? e : p + 1;
	}
	if (ch == ';')
		t->kind = TOK_SEMICOLON;
	return p + 1;
}

bool ac_pg_single_statement(const char *sql)
{
	struct tok t;
	for (const char *p = next_token(sql, &t); t.kind != TOK_END; p = next_token(p, &t))
		if (t.kind == TOK_SEMICOLON)
			return *ac_pg_skip_blanks(p) == '\0';
	return true;
}

/* Functions that take a session-level advisory lock: ROLLBACK does not
 * release it, so it would outlive the check on the pooled connection. */
static const char *const session_locks[] = {
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
};

static const char *session_lock_named(const char *w, size_t n, bool fold)
{
	for (size_t i = 0; i < sizeof(session_locks) / sizeof(session_locks[0]); i++)
		if (strlen(session_locks[i]) == n && (fold ? strncasecmp(w, session_locks[i], n)
							   : strncmp(w, session_locks[i], n)) == 0)
			return session_locks[i];
	return NULL;
}

const char *ac_pg_session_lock_call(const char *sql)
{
	struct tok t;
	for (const char *p = next_token(sql, &t); t.kind != TOK_END; p = next_token(p, &t)) {
		/* A quoted identifier names the function exactly; a word in any
		 * case. Only a call: the name followed by "(" (blanks and
		 * comments between). */
		const char *hit = t.kind == TOK_WORD	       ? session_lock_named(t.w, t.n, true)
				  : t.kind == TOK_QUOTED_IDENT ? session_lock_named(t.w, t.n, false)
							       : NULL;
		if (hit && *ac_pg_skip_blanks(p) == '(')
			return hit;
	}
	return NULL;
}
