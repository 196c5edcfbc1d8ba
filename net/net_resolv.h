/* net_resolv: a sans-IO DNS stub resolver for collector names (A and AAAA over UDP).
 *
 * Same seam as the h3 driver (h3/h3.h): no socket and no clock inside. The caller feeds
 * received datagrams and the monotonic time in ns (net_resolv_input, net_resolv_on_expiry)
 * and the resolver sends its queries through an I/O callback (struct net_resolv_io). So
 * one resolver core serves both I/O modes: the daemon's main thread plugs in a kernel UDP
 * socket or a UDP endpoint on the DPDK port. One thread only (shared nothing).
 *
 * DNS messages are built and parsed by c-ares (ares_create_query, ares_parse_a_reply,
 * ares_parse_aaaa_reply): this module reads only the 12-byte header (id, QR, opcode, TC,
 * RCODE) and the question, to match an answer to its query. Plain RFC 1035 UDP: no EDNS,
 * answers up to 512 bytes, RD set, no TCP fallback.
 *
 * A lookup asks for A and AAAA at once (one query set per name; later lookups of the same
 * name join it). Each query keeps one random id (crypto_random) for its whole life and
 * walks the server list: attempt k goes to server k % nservers, at most attempts *
 * nservers datagrams, each waited for timeout_ms. An answer is taken from any server the
 * query was sent to. SERVFAIL, REFUSED (any RCODE but NOERROR and NXDOMAIN) and a
 * truncated answer without an address move on to the next server at once; NXDOMAIN ends
 * the set (the name does not exist, whatever the type: RFC 8020). When both queries are
 * done the completion callback runs once with the combined result.
 *
 * Cache: up to NET_RESOLV_CACHE_MAX names, allocated once by net_resolv_new (no
 * allocation per lookup but c-ares' own while building and parsing). A name that is not in
 * flight is evicted least recently used first. Answers live for their TTL (the least over
 * the addresses, CNAMEs included as c-ares reports it, clamped to [ttl_floor_s,
 * ttl_ceiling_s]); NXDOMAIN and "no address" for the negative_ttl_s; transient failures
 * (timeout, server errors, truncation, send failures) for failure_ttl_s (RFC 9520 §3.2:
 * a resolution failure is kept at least a second, so callers that ask on every poll see
 * the failure instead of an endless "pending", and the servers are not hammered).
 *
 * Expired answers (a decision): a lookup of a name whose addresses expired starts a
 * refresh and returns NET_RESOLV_PENDING with those addresses flagged stale (RFC 8767
 * serve-stale, for the caller to use or ignore); the refresh's result replaces them, and a
 * failed refresh forgets them. net_resolv_invalidate forgets them at once (the caller's
 * connections to every one of them failed).
 *
 * Addresses no peer can have (net_addr_not_unicast: 0.0.0.0, ::, multicast, broadcast,
 * IPv4-mapped; a sinkhole's "0.0.0.0" answer) are left out of answers and counted: a name
 * that answers only those has no address (NET_RESOLV_ERR_NOADDR).
 *
 * Errors: negative NET_RESOLV_ERR_* codes (net_resolv_strerror). */
#ifndef H3DP_NET_RESOLV_H
#define H3DP_NET_RESOLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_addr.h"
#include "net_url.h"

#define NET_RESOLV_MAX_SERVERS 4
#define NET_RESOLV_MAX_ADDRS   8  /* per family */
#define NET_RESOLV_CACHE_MAX   64 /* names */
#define NET_RESOLV_DNS_PORT    53 /* RFC 1035 §4.2.1 */
#define NET_RESOLV_WHY_MAX     384
#define NET_RESOLV_PENDING     1 /* not an error: the answer comes through the callback */

enum net_resolv_err {
    NET_RESOLV_OK = 0,
    NET_RESOLV_ERR_INVAL = -701,     /* bad argument or configuration */
    NET_RESOLV_ERR_NOMEM = -702,     /* allocation failed (ours or c-ares') */
    NET_RESOLV_ERR_NAME = -703,      /* not a DNS host name (an IP literal is not one) */
    NET_RESOLV_ERR_FULL = -704,      /* every cache slot holds a lookup in flight */
    NET_RESOLV_ERR_RANDOM = -705,    /* no random query id (crypto_random failed) */
    NET_RESOLV_ERR_NXDOMAIN = -706,  /* no such name */
    NET_RESOLV_ERR_NOADDR = -707,    /* the name has neither A nor AAAA records */
    NET_RESOLV_ERR_SERVER = -708,    /* the servers answered SERVFAIL, REFUSED, ... */
    NET_RESOLV_ERR_TRUNCATED = -709, /* truncated answer without an address (no TCP) */
    NET_RESOLV_ERR_TIMEOUT = -710,   /* no answer from any server */
    NET_RESOLV_ERR_SEND = -711,      /* the I/O callback refused every query */
    NET_RESOLV_ERR_DROPPED = -712,   /* input: not an answer we wait for (counted) */
};

/* A short description of a NET_RESOLV_ERR_* code (or -errno); "pending" for
 * NET_RESOLV_PENDING. Never NULL. */
const char *net_resolv_strerror(int err);

struct net_resolv_server {
    struct net_addr addr; /* IPv4 or IPv6, unicast */
    uint16_t port;        /* host order; 0: NET_RESOLV_DNS_PORT */
};

/* Configuration. Start from net_resolv_conf_default() and add servers. */
struct net_resolv_conf {
    struct net_resolv_server servers[NET_RESOLV_MAX_SERVERS];
    unsigned nservers;       /* 1..NET_RESOLV_MAX_SERVERS */
    uint32_t timeout_ms;     /* per attempt: 1..60000; 2000 */
    unsigned attempts;       /* rounds over the server list: 1..5; 2 */
    uint32_t ttl_floor_s;    /* least time an answer is kept; 5 */
    uint32_t ttl_ceiling_s;  /* most time an answer is kept (>= floor); 3600 */
    uint32_t negative_ttl_s; /* NXDOMAIN and "no address" are kept; 30 */
    uint32_t failure_ttl_s;  /* timeouts and server failures are kept: 1..300; 5 */
};

/* The outcome of a lookup. */
struct net_resolv_result {
    int status;       /* 0, NET_RESOLV_PENDING or NET_RESOLV_ERR_* */
    bool stale;       /* pending: the addresses below expired (kept while refreshing) */
    uint8_t n4, n6;   /* addresses in v4[] and v6[] */
    uint32_t ttl;     /* seconds the answer is kept (clamped TTL, or the negative ttl) */
    uint64_t expires; /* monotonic ns at which it expires; 0: not cached */
    struct net_addr v4[NET_RESOLV_MAX_ADDRS];
    struct net_addr v6[NET_RESOLV_MAX_ADDRS];
    char why[NET_RESOLV_WHY_MAX]; /* one line for an operator; "" unless an error */
};

/* Counters, for status and metrics. */
struct net_resolv_stats {
    uint64_t lookups;       /* net_resolv_lookup calls with a valid name */
    uint64_t cache_hits;    /* ... answered from a fresh entry (positive or negative) */
    uint64_t cache_misses;  /* ... that started or joined a query set */
    uint64_t joined;        /* ... of the misses, joined a query set in flight */
    uint64_t stale_served;  /* ... of the misses, returned expired addresses flagged stale */
    uint64_t evictions;     /* names pushed out of a full cache */
    uint64_t queries_sent;  /* datagrams the I/O callback took */
    uint64_t send_errors;   /* datagrams it refused */
    uint64_t answers;       /* answers accepted (any RCODE) */
    uint64_t timeouts;      /* attempts left without an answer */
    uint64_t nxdomain;      /* answers with RCODE NXDOMAIN */
    uint64_t nodata;        /* NOERROR answers without an address of the asked type */
    uint64_t server_errors; /* answers with another failing RCODE (SERVFAIL, REFUSED, ...) */
    uint64_t truncated;     /* answers with TC set */
    uint64_t unusable;      /* addresses left out of answers: unspecified (0.0.0.0, ::),
                               multicast, broadcast, IPv4-mapped (no peer has them) */
    uint64_t completed;     /* query sets completed (completion callbacks) */
    uint64_t failed;        /* ... with an error status */
    /* Datagrams dropped by net_resolv_input, by reason. */
    uint64_t drop_bad_source;   /* not from a server the query was sent to */
    uint64_t drop_bad_id;       /* no query in flight with that id */
    uint64_t drop_not_response; /* QR clear or opcode not QUERY */
    uint64_t drop_question;     /* question is not the query's (name, type, class IN) */
    uint64_t drop_malformed;    /* too short, or unparsable */
};

/* The I/O seam. send() hands one query (|len| bytes at |msg|) to the backend for UDP
 * delivery to |server|:|port| (host order). Returns 0, or a negative error (-errno): the
 * datagram counts as lost and the attempt's timeout still runs. It must not call back into
 * the resolver. */
struct net_resolv_io {
    int (*send)(void *ctx, const struct net_addr *server, uint16_t port, const uint8_t *msg,
                size_t len);
};

/* Completion: |name| (lowercase) and its result, called from net_resolv_input or
 * net_resolv_on_expiry once per completed query set (lookups that joined it share the
 * call). Both pointers are valid during the call only. It may call net_resolv_lookup,
 * _invalidate, _expiry and _stats; it must not call net_resolv_del. */
typedef void net_resolv_done_fn(void *ctx, const char *name, const struct net_resolv_result *res);

struct net_resolv;

/* Fills |c| with the defaults above and no server. */
void net_resolv_conf_default(struct net_resolv_conf *c);

/* Creates a resolver with |conf| (copied) sending through |io| (copied) with |io_ctx|,
 * reporting completions to |done| with |done_ctx|. On success *|out| holds it.
 * Errors: NET_RESOLV_ERR_INVAL (NULL argument, no send or done callback, no server or
 * more than NET_RESOLV_MAX_SERVERS, a server address that is not unicast, a timeout,
 * attempts or TTL bound out of range), NET_RESOLV_ERR_NOMEM. */
int net_resolv_new(const struct net_resolv_conf *conf, const struct net_resolv_io *io, void *io_ctx,
                   net_resolv_done_fn *done, void *done_ctx, struct net_resolv **out);

/* Frees |r| and its cache; query sets in flight end without callbacks. NULL is fine. */
void net_resolv_del(struct net_resolv *r);

/* Resolves |name| (a host name, see net_host_name_check; case does not matter) at |now|
 * (monotonic ns), filling |res|:
 *  - 0: answered from a fresh cache entry; res->status is 0 (addresses) or the cached
 *    NET_RESOLV_ERR_NXDOMAIN or NET_RESOLV_ERR_NOADDR, with res->why;
 *  - NET_RESOLV_PENDING: a query set started (sending its first two datagrams) or was
 *    already in flight; the completion callback reports the result. res->status is
 *    NET_RESOLV_PENDING, with expired addresses flagged stale if the name had some;
 *  - an error (also in res->status, with res->why): NET_RESOLV_ERR_INVAL (NULL
 *    argument), NET_RESOLV_ERR_NAME (not a host name, an IP literal included),
 *    NET_RESOLV_ERR_FULL (every cache slot in flight), NET_RESOLV_ERR_NOMEM,
 *    NET_RESOLV_ERR_RANDOM. No callback follows an error. */
int net_resolv_lookup(struct net_resolv *r, const char *name, uint64_t now,
                      struct net_resolv_result *res);

/* Feeds one datagram received at |now| from |from|:|port| (host order). Returns 0 when it
 * was an answer to a query in flight (it may complete the query set: callback), or
 * NET_RESOLV_ERR_DROPPED when it was not (counted in the stats' drop_* by reason) or
 * NET_RESOLV_ERR_INVAL (NULL argument). */
int net_resolv_input(struct net_resolv *r, const struct net_addr *from, uint16_t port,
                     const uint8_t *msg, size_t len, uint64_t now);

/* The earliest attempt deadline (monotonic ns) at which net_resolv_on_expiry must run;
 * UINT64_MAX when nothing is in flight. Cache expiry needs no timer (checked on lookup). */
uint64_t net_resolv_expiry(const struct net_resolv *r);

/* Handles the attempts whose deadline is at or before |now|: each moves on to the next
 * server, or ends its query with a timeout after the last (callback when that completes
 * the set). No errors. */
void net_resolv_on_expiry(struct net_resolv *r, uint64_t now);

/* Forgets the cached answer for |name| (the caller's connections to every address
 * failed): the next lookup asks the servers again, with nothing stale. A query set in
 * flight for it continues. Returns 0 (also when the name was not cached), or
 * NET_RESOLV_ERR_INVAL (NULL argument), NET_RESOLV_ERR_NAME (not a host name). */
int net_resolv_invalidate(struct net_resolv *r, const char *name);

/* Copies the counters into |out|. */
void net_resolv_stats(const struct net_resolv *r, struct net_resolv_stats *out);

#endif
