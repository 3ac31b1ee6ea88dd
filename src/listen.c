/*
 * listen.c: GET /metrics on the engine's loop (src/monit.h).
 *
 * Everything is non-blocking and bounded: the listening socket and each
 * client are watches on the loop, a client has AC_LISTEN_TIMEOUT_MS from
 * accept to the end of its response, a request larger than
 * AC_LISTEN_REQ_MAX is refused, a connection past AC_LISTEN_CLIENTS takes
 * the place of the one that has waited longest without asking (or is
 * closed at once when all are being answered), and every connection is
 * closed after one response. A
 * client that connects and sends nothing costs a slot until its timer
 * fires; it never holds a round, since nothing here waits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "monit.h"

struct client {
	struct ac_listener *l;
	int fd;
	char req[AC_LISTEN_REQ_MAX + 1];
	size_t nreq;
	char *resp;
	size_t nresp, sent;
	int64_t accepted_ms;
	struct ac_timer timer;
};

struct ac_listener {
	int fd;
	char address[80];
	struct ac_loop *loop;
	char *text;
	struct client *clients[AC_LISTEN_CLIENTS];
	unsigned long served;
};

/* Split HOST:PORT, [V6]:PORT, :PORT or PORT; no host gives 127.0.0.1. */
static int split(const char *hp, char *host, size_t nhost, char *port, size_t nport)
{
	const char *colon;
	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (!end || end[1] != ':' || (size_t)(end - hp - 1) >= nhost)
			return -1;
		snprintf(host, nhost, "%.*s", (int)(end - hp - 1), hp + 1);
		colon = end + 1;
	} else if ((colon = strrchr(hp, ':'))) {
		if ((size_t)(colon - hp) >= nhost || strchr(hp, ':') != colon)
			return -1;
		snprintf(host, nhost, "%.*s", (int)(colon - hp), hp);
	} else {
		host[0] = '\0';
		colon = hp - 1;
	}
	if (!host[0])
		snprintf(host, nhost, "127.0.0.1");
	long p;
	if (ac_parse_long(colon + 1, &p) < 0 || p < 0 || p > 65535)
		return -1;
	snprintf(port, nport, "%ld", p);
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
	}
	return false;
}

struct ac_listener *ac_listener_open(const char *hostport, bool *loopback, struct ac_error *err)
{
	char host[64], port[8];
	if (split(hostport, host, sizeof(host), port, sizeof(port)) < 0) {
		ac_error_set(err, "--listen takes HOST:PORT such as 127.0.0.1:9464, not '%s'",
			     hostport);
		return NULL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0) {
		ac_error_set(err, "--listen %s: %s", hostport, gai_strerror(g));
		return NULL;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		ac_error_set(err, "cannot listen on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?", p[8] = "?";
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	struct ac_listener *l = ac_calloc(1, sizeof(*l));
	l->fd = fd;
	snprintf(l->address, sizeof(l->address), ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h,
		 p);
	l->text = ac_strdup("# allclear: no round has ended yet\nallclear_up 1\n");
	if (loopback)
		*loopback = is_loopback((struct sockaddr *)&ss);
	return l;
}

const char *ac_listener_address(const struct ac_listener *l)
{
	return l->address;
}

unsigned long ac_listener_served(const struct ac_listener *l)
{
	return l->served;
}

void ac_listener_set(struct ac_listener *l, const char *text)
{
	if (!l)
		return;
	free(l->text);
	l->text = ac_strdup(text);
}

static void client_close(struct client *c)
{
	struct ac_listener *l = c->l;
	if (l->loop) {
		ac_loop_unwatch(l->loop, c->fd);
		ac_loop_timer_stop(l->loop, &c->timer);
	}
	close(c->fd);
	for (size_t i = 0; i < AC_LISTEN_CLIENTS; i++)
		if (l->clients[i] == c)
			l->clients[i] = NULL;
	free(c->resp);
	free(c);
}

static void on_client_timeout(void *ud)
{
	client_close(ud);
}

static void on_client(void *ud, int fd, unsigned revents);

static void respond(struct client *c, int status, const char *reason, const char *type,
		    const char *body, bool head)
{
	size_t nbody = strlen(body);
	char *hdr = ac_asprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				"Cache-Control: no-store\r\nConnection: close\r\n\r\n",
				status, reason, type, nbody);
	size_t nhdr = strlen(hdr);
	c->resp = ac_realloc(hdr, nhdr + nbody + 1);
	if (!head)
		memcpy(c->resp + nhdr, body, nbody);
	c->nresp = nhdr + (head ? 0 : nbody);
	c->sent = 0;
	c->l->served++;
	ac_loop_watch(c->l->loop, c->fd, AC_LOOP_WRITE, on_client, c);
}

/* A whole request head is in: answer it. */
static void handle(struct client *c)
{
	char method[8] = "", target[256] = "";
	char *sp1 = memchr(c->req, ' ', c->nreq);
	char *sp2 = sp1 ? memchr(sp1 + 1, ' ', c->nreq - (size_t)(sp1 + 1 - c->req)) : NULL;
	char *eol = strchr(c->req, '\n');
	if (!sp1 || !sp2 || (eol && sp2 > eol) || sp1 - c->req >= (long)sizeof(method) ||
	    sp2 - sp1 - 1 >= (long)sizeof(target)) {
		respond(c, 400, "Bad Request", "text/plain", "bad request\n", false);
		return;
	}
	snprintf(method, sizeof(method), "%.*s", (int)(sp1 - c->req), c->req);
	snprintf(target, sizeof(target), "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
	char *q = strchr(target, '?');
	if (q)
		*q = '\0';
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		respond(c, 405, "Method Not Allowed", "text/plain", "GET /metrics\n", false);
	else if (strcmp(target, "/metrics") == 0)
		respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", c->l->text, head);
	else if (strcmp(target, "/") == 0)
		respond(c, 200, "OK", "text/plain; charset=utf-8",
			"allclear: the verdict and the checks are at /metrics\n", head);
	else
		respond(c, 404, "Not Found", "text/plain", "not found: try /metrics\n", head);
}

static void on_client(void *ud, int fd, unsigned revents)
{
	struct client *c = ud;
	if (c->resp) {
		while (c->sent < c->nresp) {
			ssize_t n = send(fd, c->resp + c->sent, c->nresp - c->sent, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n <= 0)
				break;
			c->sent += (size_t)n;
		}
		client_close(c);
		return;
	}
	for (;;) {
		if (c->nreq >= AC_LISTEN_REQ_MAX) {
			respond(c, 431, "Request Header Fields Too Large", "text/plain",
				"request too large\n", false);
			return;
		}
		ssize_t n = recv(fd, c->req + c->nreq, AC_LISTEN_REQ_MAX - c->nreq, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->nreq += (size_t)n;
		c->req[c->nreq] = '\0';
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			handle(c);
			return;
		}
	}
}

static void on_accept(void *ud, int fd, unsigned revents)
{
	struct ac_listener *l = ud;
	/* A few per tick: a flood of connections cannot hold the loop. */
	for (int k = 0; k < 32; k++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		size_t slot = AC_LISTEN_CLIENTS, oldest = AC_LISTEN_CLIENTS;
		for (size_t i = 0; i < AC_LISTEN_CLIENTS && slot == AC_LISTEN_CLIENTS; i++) {
			struct client *o = l->clients[i];
			if (!o)
				slot = i;
			else if (!o->resp && (oldest == AC_LISTEN_CLIENTS ||
					      o->accepted_ms < l->clients[oldest]->accepted_ms))
				oldest = i;
		}
		if (slot == AC_LISTEN_CLIENTS && oldest < AC_LISTEN_CLIENTS) {
			/* Full of clients that have not finished asking: the one
			 * waiting longest goes, so idle connections cannot keep
			 * the scraper out. */
			client_close(l->clients[oldest]);
			slot = oldest;
		}
		if (slot == AC_LISTEN_CLIENTS) {
			close(cfd); /* all answering: the scraper retries */
			continue;
		}
		struct client *c = ac_calloc(1, sizeof(*c));
		c->l = l;
		c->fd = cfd;
		c->accepted_ms = ac_loop_now(l->loop);
		l->clients[slot] = c;
		ac_loop_watch(l->loop, cfd, AC_LOOP_READ, on_client, c);
		ac_loop_timer_start(l->loop, &c->timer, ac_loop_now(l->loop) + AC_LISTEN_TIMEOUT_MS,
				    on_client_timeout, c);
	}
}

void ac_listener_attach(struct ac_listener *l, struct ac_loop *loop)
{
	if (!l)
		return;
	l->loop = loop;
	ac_loop_watch(loop, l->fd, AC_LOOP_READ, on_accept, l);
}

void ac_listener_detach(struct ac_listener *l)
{
	if (!l || !l->loop)
		return;
	for (size_t i = 0; i < AC_LISTEN_CLIENTS; i++)
		if (l->clients[i])
			client_close(l->clients[i]);
	ac_loop_unwatch(l->loop, l->fd);
	l->loop = NULL;
}

void ac_listener_destroy(struct ac_listener *l)
{
	if (!l)
		return;
	ac_listener_detach(l);
	close(l->fd);
	free(l->text);
	free(l);
}
