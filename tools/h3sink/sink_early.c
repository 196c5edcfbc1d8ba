/* sink_early.c: session tickets, 0-RTT and anti-replay for the h3sink core (see
 * sink_early.h). */
#include "sink_early.h"

#include <string.h>
#include <time.h>

static uint64_t key_hash(const gnutls_datum_t *key)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (unsigned i = 0; i < key->size; i++)
        h = (h ^ key->data[i]) * 1099511628211ULL;
    return h ? h : 1;
}

/* GnuTLS's anti-replay database: add |key| unless it is there and live. Linear probing
 * over a fixed table; expired entries are reused. */
static int replay_add(void *ptr, time_t exp_time, const gnutls_datum_t *key,
                      const gnutls_datum_t *data)
{
    struct sink_early *e = ptr;
    uint64_t h = key_hash(key);
    time_t now = time(NULL);
    struct sink_replay_ent *free_slot = NULL;
    (void)data;

    if (e->refuse_early) {
        e->replays_refused++;
        return GNUTLS_E_DB_ENTRY_EXISTS;
    }
    for (size_t i = 0; i < SINK_EARLY_REPLAY_SLOTS; i++) {
        struct sink_replay_ent *r = &e->replay[(h + i) % SINK_EARLY_REPLAY_SLOTS];
        bool live = r->hash != 0 && r->expires >= now;
        if (live && r->hash == h) {
            e->replays_refused++;
            return GNUTLS_E_DB_ENTRY_EXISTS;
        }
        if (!live && !free_slot)
            free_slot = r;
        if (r->hash == 0)
            break; /* the end of this probe run */
    }
    if (!free_slot) {
        e->replays_refused++;
        return GNUTLS_E_DB_ERROR; /* full of live entries: refuse early data */
    }
    free_slot->hash = h;
    free_slot->expires = exp_time;
    return 0;
}

int sink_early_init(struct sink_early *e, bool refuse_early)
{
    int rv;

    e->refuse_early = refuse_early;
    if ((rv = gnutls_session_ticket_key_generate(&e->ticket_key)) != 0)
        return rv;
    if ((rv = gnutls_anti_replay_init(&e->anti_replay)) != 0) {
        e->anti_replay = NULL;
        return rv;
    }
    gnutls_anti_replay_set_add_function(e->anti_replay, replay_add);
    gnutls_anti_replay_set_ptr(e->anti_replay, e);
    return 0;
}

void sink_early_free(struct sink_early *e)
{
    if (e->anti_replay)
        gnutls_anti_replay_deinit(e->anti_replay);
    e->anti_replay = NULL;
    if (e->ticket_key.data) {
        gnutls_memset(e->ticket_key.data, 0, e->ticket_key.size);
        gnutls_free(e->ticket_key.data);
    }
    e->ticket_key.data = NULL;
}

unsigned sink_early_session_flags(void)
{
    /* Tickets are sent by sink_early_send_ticket once ngtcp2 reports the handshake
     * complete, not by GnuTLS from inside the handshake: GNUTLS_NO_AUTO_SEND_TICKET. */
    return GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_AUTO_SEND_TICKET;
}

int sink_early_session(struct sink_early *e, gnutls_session_t s)
{
    int rv = gnutls_session_ticket_enable_server(s, &e->ticket_key);
    if (rv != 0)
        return rv;
    gnutls_anti_replay_enable(s, e->anti_replay);
    return gnutls_record_set_max_early_data_size(s, SINK_EARLY_MAX_DATA);
}

int sink_early_send_ticket(gnutls_session_t s)
{
    return gnutls_session_ticket_send(s, 1, 0);
}

bool sink_early_resumed(gnutls_session_t s)
{
    return gnutls_session_is_resumed(s) != 0;
}

bool sink_early_accepted(gnutls_session_t s)
{
    return (gnutls_session_get_flags(s) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
}
