/*
 * mask.h: keeping secrets out of every output.
 *
 * A run has one mask. Every value read from ${env:...} or ${file:...},
 * every captured cookie or credential and every value the scenario marks
 * secret is added to it; text passes through ac_mask_apply before it enters
 * the result tree (the engine masks samples, the plan text it copies into
 * the tree and the judge's reasons), so writers only escape.
 *
 * A secret is found by decoding, not by a list of encoded copies: any span
 * of text that reads as the secret once percent-escapes (either case),
 * "+" for a space (form encoding) and JSON escapes ("\/", "\"",
 * "\u00e9", surrogate pairs) are decoded is masked, so raw, encoded,
 * partly encoded and mixed forms all match. Base64 forms (standard and
 * URL-safe, with or without padding, at any byte offset inside a longer
 * base64 text, and "user:password" as Basic authentication sends it) are
 * matched the same way, so base64 that is itself percent-encoded is found
 * too. The text is walked once whatever the number of secrets.
 */
#ifndef AC_MASK_H
#define AC_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define AC_MASK_TEXT "***"

/* The loader refuses shorter secrets: masking "a" would blank every "a" in
 * every output. */
#define AC_SECRET_MIN_BYTES 4

struct ac_mask;

struct ac_mask *ac_mask_create(void);
/* A mask for what one probe run learns (captured cookies and tokens): it
 * masks its own secrets and its parent's, and is destroyed with the run, so
 * a long watch does not collect every session cookie it ever saw. parent
 * must outlive it and not change while it is used. */
struct ac_mask *ac_mask_create_scoped(const struct ac_mask *parent);
void ac_mask_destroy(struct ac_mask *m);

/* Remember a secret value (copied). Empty values are ignored. */
void ac_mask_add(struct ac_mask *m, const char *secret);
/* Remember user:password as Basic authentication would send it. */
void ac_mask_add_pair(struct ac_mask *m, const char *user, const char *password);
/* Secrets known, the parent's included. */
size_t ac_mask_count(const struct ac_mask *m);

/* A copy of text with every known secret replaced by AC_MASK_TEXT, and
 * URL userinfo passwords and password=... parameters masked. Never NULL
 * (NULL in gives "" out). The caller frees it. m may be NULL. */
char *ac_mask_apply(const struct ac_mask *m, const char *text);
char *ac_mask_applyn(const struct ac_mask *m, const char *text, size_t len);

/* *text (owned, NULL left alone) masked in place: replaced by
 * ac_mask_apply's copy when masking changes it, untouched (no copy) when
 * it does not. */
void ac_mask_inplace(const struct ac_mask *m, char **text);

/* ac_excerpt of the masked text: masking first, so that a secret is
 * neither cut in two (its first half shown before the "...") nor hidden
 * by folded whitespace. The caller frees it. */
char *ac_mask_excerpt(const struct ac_mask *m, const char *text, size_t len, size_t max);

/* True for Authorization, Proxy-Authorization, Cookie, Set-Cookie,
 * X-Api-Key and other credential-bearing header names. */
bool ac_mask_header_is_secret(const char *name);

/* The value to show for a header: AC_MASK_TEXT for secret headers, else
 * ac_mask_apply(value). The caller frees it. */
char *ac_mask_header_value(const struct ac_mask *m, const char *name, const char *value);

/* ac_text_escape, ac_text_escape_lines, ac_text_utf8 and
 * ac_text_has_control (text that cannot drive a terminal) are in util.h. */

/* A DSN or URL with its password removed (key=value or URI form). */
char *ac_mask_dsn(const char *dsn);

#endif
