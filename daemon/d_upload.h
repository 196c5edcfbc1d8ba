/* d_upload: the daemon's side of the upload engine — its parameters from [upload] and
 * [tls], and the `upload` control command (start|stop|status|target). Main thread only. */
#ifndef H3DP_D_UPLOAD_H
#define H3DP_D_UPLOAD_H

struct cfg;
struct ctl_server;
struct up;
struct up_conf;

/* What the `upload` command works on. */
struct d_upload {
    const struct cfg *cfg;
    struct up *up;
};

/* Fills |uc| from the validated configuration |c| (strings point into |c|). */
void d_upload_conf(const struct cfg *c, struct up_conf *uc);

/* Registers the `upload` command for |d| (which must outlive |srv|'s use of it). Returns 0
 * or a negative error. */
int d_upload_register(struct d_upload *d, struct ctl_server *srv);

#endif
