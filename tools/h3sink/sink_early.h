/*
 * sink_early.h: session tickets and 0-RTT for the h3sink core (GnuTLS server side).
 *
 * One struct sink_early per struct sink: the session ticket encryption key (random per
 * sink: tickets do not survive a restart, a client then falls back to a full handshake
 * and its early data is rejected) and the anti-replay state GnuTLS needs before it
 * accepts early data (RFC 8446 §8).
 *
 * Anti-replay: GnuTLS checks that the ticket's age fits its window (10 s) and asks us to
 * record each ClientHello that carries early data (by its PSK binder). We keep those in
 * a bounded in-memory table for the window: a ClientHello replayed within it gets its
 * early data rejected. This is a test collector's defence, not a fleet's: the table is
 * per process (a replay to another h3sink, or after a restart, is not caught; the
 * ticket age window bounds the latter), and when the table is full of live entries
 * early data is refused until some expire. The application-level defence is the
 * batch id (h3dp-batch) a replayed upload carries: counted as a duplicate.
 *
 * With refuse_early (h3sink --no-early-data) tickets still advertise early data (as
 * from a collector whose policy changed since) but every 0-RTT attempt is rejected at
 * the anti-replay step: the handshake resumes, the client sends its requests again in
 * 1-RTT.
 */
#ifndef H3SINK_SINK_EARLY_H
#define H3SINK_SINK_EARLY_H

#include <stdbool.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#define SINK_EARLY_REPLAY_SLOTS 4096
/* RFC 9001 §4.6.1: a QUIC server's ticket says 0xffffffff; QUIC flow control limits
 * the early data instead. */
#define SINK_EARLY_MAX_DATA 0xffffffffu

struct sink_replay_ent {
    uint64_t hash; /* 0: free */
    time_t expires;
};

struct sink_early {
    gnutls_datum_t ticket_key;
    gnutls_anti_replay_t anti_replay;
    bool refuse_early;
    uint64_t replays_refused; /* early data refused as a replay (or table full) */
    struct sink_replay_ent replay[SINK_EARLY_REPLAY_SLOTS];
};

/* Set up |e| (zeroed by the caller). Returns 0 or a negative GnuTLS error. */
int sink_early_init(struct sink_early *e, bool refuse_early);

/* Free what |e| holds (a zeroed |e| is fine). */
void sink_early_free(struct sink_early *e);

/* The gnutls_init flags a server session needs on top of its own. */
unsigned sink_early_session_flags(void);

/* Enable tickets and early data on a new server session (after gnutls_init with
 * sink_early_session_flags()). Returns 0 or a negative GnuTLS error. */
int sink_early_session(struct sink_early *e, gnutls_session_t s);

/* Send one NewSessionTicket (RFC 8446 §4.6.1) after the handshake completed. Returns 0
 * or a negative GnuTLS error (not fatal for the connection). */
int sink_early_send_ticket(gnutls_session_t s);

/* The handshake resumed a session / accepted early data. */
bool sink_early_resumed(gnutls_session_t s);
bool sink_early_accepted(gnutls_session_t s);

#endif /* H3SINK_SINK_EARLY_H */
