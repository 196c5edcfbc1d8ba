/* Helpers shared by the control-plane tests: temp socket dirs and line clients. */
#ifndef H3DP_CTL_TEST_UTIL_H
#define H3DP_CTL_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "mono.h"

struct tclient {
    int fd;
    char buf[1 << 16];
    size_t len;
    bool eof;
};

static inline uint64_t t_now_ms(void)
{
    return mono_ns() / 1000000;
}

/* Steps |srv| as the daemon's event loop does: waits up to |timeout_ms| (-1: no limit) for
 * its fd, or until the nearest deadline of a deferred request, then polls it at the time
 * after the wait. */
static inline int t_step(struct ctl_server *srv, int timeout_ms)
{
    struct pollfd p = {.fd = ctl_server_fd(srv), .events = POLLIN};
    int dl = ctl_server_timeout_ms(srv, mono_ns());

    if (dl >= 0 && (timeout_ms < 0 || dl < timeout_ms))
        timeout_ms = dl;
    poll(&p, 1, timeout_ms);
    return ctl_server_poll(srv, mono_ns());
}

static inline int t_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static inline int t_send(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 10);
                continue;
            }
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Reads whatever is available without blocking. */
static inline void t_fill(struct tclient *c)
{
    for (;;) {
        ssize_t n;
        if (c->len == sizeof(c->buf) - 1)
            return;
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
        if (n == 0) {
            c->eof = true;
            return;
        }
        if (n < 0)
            return;
        c->len += (size_t)n;
    }
}

/* Runs the server (if any) until client |c| has a full line, EOF, or |ms| pass. Copies
 * the line (without '\n') into |out| and returns 0; -1 on timeout or EOF. */
static inline int t_line(struct ctl_server *srv, struct tclient *c, char *out, size_t out_len,
                         int ms)
{
    uint64_t end = t_now_ms() + (uint64_t)ms;

    for (;;) {
        char *nl;
        t_fill(c);
        nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            size_t k = n < out_len - 1 ? n : out_len - 1;
            memcpy(out, c->buf, k);
            out[k] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 0;
        }
        if (c->eof || t_now_ms() > end)
            return -1;
        if (srv != NULL)
            t_step(srv, 1);
        else {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            poll(&p, 1, 5);
        }
    }
}

/* Runs the server until |c| sees EOF; returns 0, or -1 after |ms|. */
static inline int t_wait_eof(struct ctl_server *srv, struct tclient *c, int ms)
{
    uint64_t end = t_now_ms() + (uint64_t)ms;

    while (!c->eof) {
        c->len = 0;
        t_fill(c);
        if (t_now_ms() > end)
            return -1;
        if (srv != NULL)
            t_step(srv, 1);
    }
    return 0;
}

#endif
