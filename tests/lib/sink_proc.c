/* sink_proc.c: h3sink as a child process (see sink_proc.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sink_proc.h"

#define SINK_ARGV_MAX 32

int sink_proc_start(struct sink_proc *s, const char *exe, const char *certs,
                    const char *const *extra)
{
    char cert[512], key[512], line[256];
    const char *argv[SINK_ARGV_MAX] = { exe, "--addr", "127.0.0.1", "--port", "0", "--cert",
                                        cert, "--key", key, "--json", "--quiet",
                                        "--stats-interval", "0" };
    unsigned n = 13, port = 0;
    int pfd[2];

    memset(s, 0, sizeof(*s));
    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server-key.pem", certs);
    for (unsigned i = 0; extra && extra[i]; i++) {
        if (n + 1 >= SINK_ARGV_MAX)
            return -1;
        argv[n++] = extra[i];
    }
    if (pipe(pfd) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0) {
        s->pid = 0;
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (s->pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    s->out = fdopen(pfd[0], "r");
    if (!s->out) {
        close(pfd[0]);
        sink_proc_kill(s);
        return -1;
    }
    while (fgets(line, sizeof(line), s->out))
        if (sscanf(line, "listening on 127.0.0.1:%u", &port) == 1)
            break;
    if (port == 0 || port > 65535) {
        sink_proc_kill(s);
        return -1;
    }
    s->port = (uint16_t)port;
    return 0;
}

char *sink_proc_stop(struct sink_proc *s, int *status)
{
    char line[8192];
    char *final = NULL;
    int st = 0;

    if (s->pid > 0) {
        kill(s->pid, SIGINT);
        while (s->out && fgets(line, sizeof(line), s->out))
            if (strstr(line, "\"final\":true")) {
                free(final);
                final = strdup(line);
            }
        waitpid(s->pid, &st, 0);
        s->pid = 0;
    }
    if (s->out)
        fclose(s->out);
    s->out = NULL;
    if (status)
        *status = st;
    return final;
}

void sink_proc_kill(struct sink_proc *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->out)
        fclose(s->out);
    s->out = NULL;
}
