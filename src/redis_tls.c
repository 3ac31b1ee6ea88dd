/*
 * redis_tls.c: TLS sessions for rediss:// servers (see redis_tls.h).
 */
#include "redis_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct ac_rtls_ctx {
	SSL_CTX *ssl;
	bool insecure;
	int refs;
};

struct ac_rtls {
	SSL *ssl;
};

/* OpenSSL's reason for its latest error, or fallback; the queue is cleared. */
static char *ssl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	char *text = ac_strdup(r ? r : fallback);
	ERR_clear_error();
	return text;
}

static bool readable(const char *what, const char *path, char **error)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*error = ac_asprintf("%s: cannot read \"%s\": %s", what, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

struct ac_rtls_ctx *ac_rtls_ctx_create(const char *ca_file, const char *cert, const char *key,
				       bool insecure, char **error)
{
	*error = NULL;
	ERR_clear_error();
	SSL_CTX *ssl = SSL_CTX_new(TLS_client_method());
	if (!ssl) {
		char *r = ssl_reason("unknown error");
		*error = ac_asprintf("TLS: cannot make a context: %s", r);
		free(r);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ssl, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (ca_file) {
		/* The file replaces the system's store: a private CA is trusted
		 * for this server, and only it. */
		if (!readable("ca_file", ca_file, error))
			goto fail;
		if (SSL_CTX_load_verify_locations(ssl, ca_file, NULL) != 1) {
			char *r = ssl_reason("no certificate in it");
			*error = ac_asprintf("ca_file: cannot use \"%s\": %s", ca_file, r);
			free(r);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ssl) != 1) {
		char *r = ssl_reason("unknown error");
		*error = ac_asprintf("TLS: cannot load the system's CA store: %s", r);
		free(r);
		goto fail;
	}
	if (cert) {
		const char *k = key ? key : cert;
		if (!readable("cert", cert, error) || !readable("key", k, error))
			goto fail;
		if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1) {
			char *r = ssl_reason("no certificate in it");
			*error = ac_asprintf("cert: cannot use \"%s\": %s", cert, r);
			free(r);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ssl, k, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ssl) != 1) {
			char *r = ssl_reason("no key in it");
			*error = ac_asprintf("key: cannot use \"%s\": %s", k, r);
			free(r);
			goto fail;
		}
	} else if (key) {
		*error = ac_strdup("key: given without cert");
		goto fail;
	}
	struct ac_rtls_ctx *x = ac_calloc(1, sizeof(*x));
	x->ssl = ssl;
	x->insecure = insecure;
	x->refs = 1;
	return x;
fail:
	ERR_clear_error();
	SSL_CTX_free(ssl);
	return NULL;
}

struct ac_rtls_ctx *ac_rtls_ctx_ref(struct ac_rtls_ctx *x)
{
	if (x)
		x->refs++;
	return x;
}

void ac_rtls_ctx_unref(struct ac_rtls_ctx *x)
{
	if (!x || --x->refs > 0)
		return;
	SSL_CTX_free(x->ssl);
	free(x);
}

struct ac_rtls *ac_rtls_create(struct ac_rtls_ctx *x, int fd, const char *host, char **error)
{
	*error = NULL;
	ERR_clear_error();
	SSL *ssl = SSL_new(x->ssl);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		char *r = ssl_reason("out of memory");
		*error = ac_asprintf("TLS: cannot start a session: %s", r);
		free(r);
		SSL_free(ssl);
		return NULL;
	}
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	bool ok = true;
	/* SNI carries names only (RFC 6066), never an address. */
	if (!ip)
		ok = SSL_set_tlsext_host_name(ssl, host) == 1;
	if (ok && !x->insecure) {
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(p, host) == 1
			: X509_VERIFY_PARAM_set1_host(p, host, 0) == 1;
	}
	if (!ok) {
		char *r = ssl_reason("bad host name");
		*error = ac_asprintf("TLS: cannot check the host name: %s", r);
		free(r);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	struct ac_rtls *t = ac_calloc(1, sizeof(*t));
	t->ssl = ssl;
	return t;
}

void ac_rtls_destroy(struct ac_rtls *t)
{
	if (!t)
		return;
	/* One close_notify if it goes out at once; nothing is waited for. */
	if (SSL_is_init_finished(t->ssl))
		SSL_shutdown(t->ssl);
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
}

/* What a failed call (rc) means. */
static enum ac_rtls_step outcome(struct ac_rtls *t, int rc, const char *during, char **why)
{
	int saved = errno;
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return AC_RTLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return AC_RTLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return AC_RTLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0) {
			ERR_clear_error();
			if (saved == 0)
				return AC_RTLS_EOF;
			*why = ac_asprintf("TLS %s failed: %s", during, strerror(saved));
			return AC_RTLS_FAIL;
		}
		break;
	default:
		break;
	}
	char *r = ssl_reason("unknown error");
	*why = ac_asprintf("TLS %s failed: %s", during, r);
	free(r);
	return AC_RTLS_FAIL;
}

enum ac_rtls_step ac_rtls_handshake(struct ac_rtls *t, const char *where, char **why)
{
	*why = NULL;
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1)
		return AC_RTLS_OK;
	long v = SSL_get_verify_result(t->ssl);
	if ((SSL_get_verify_mode(t->ssl) & SSL_VERIFY_PEER) && v != X509_V_OK &&
	    SSL_get_error(t->ssl, rc) == SSL_ERROR_SSL) {
		ERR_clear_error();
		*why = ac_asprintf("TLS: certificate verify failed: %s (%s)",
				   X509_verify_cert_error_string(v), where);
		return AC_RTLS_FAIL;
	}
	char *r = NULL;
	enum ac_rtls_step st = outcome(t, rc, "handshake", &r);
	if (st == AC_RTLS_EOF) {
		*why = ac_asprintf("TLS handshake failed: the server closed the connection (%s: "
				   "is it a TLS port?)",
				   where);
		return AC_RTLS_FAIL;
	}
	if (st == AC_RTLS_FAIL) {
		bool plain = strstr(r, "wrong version number") ||
			     strstr(r, "packet length too long") ||
			     strstr(r, "record layer failure");
		*why = ac_asprintf("%s (%s%s)", r, where,
				   plain ? ": it does not answer in TLS; a plain-text port?" : "");
		free(r);
	}
	return st;
}

enum ac_rtls_step ac_rtls_write(struct ac_rtls *t, const char *buf, size_t len, size_t *n,
				char **why)
{
	*why = NULL;
	*n = 0;
	if (len == 0)
		return AC_RTLS_OK;
	ERR_clear_error();
	errno = 0;
	int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
	int rc = SSL_write(t->ssl, buf, chunk);
	if (rc > 0) {
		*n = (size_t)rc;
		return AC_RTLS_OK;
	}
	return outcome(t, rc, "write", why);
}

enum ac_rtls_step ac_rtls_read(struct ac_rtls *t, char *buf, size_t cap, size_t *n, char **why)
{
	*why = NULL;
	*n = 0;
	ERR_clear_error();
	errno = 0;
	int chunk = cap > (1u << 30) ? 1 << 30 : (int)cap;
	int rc = SSL_read(t->ssl, buf, chunk);
	if (rc > 0) {
		*n = (size_t)rc;
		return AC_RTLS_OK;
	}
	return outcome(t, rc, "read", why);
}
