/* h3_err.c: error strings, state names, outcome formatting. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "h3.h"
#include "h3_tls.h"

const char *h3_strerror(int err)
{
    switch (err) {
    case H3_OK: return "success";
    case H3_ERR_INVAL: return "invalid argument";
    case H3_ERR_NOMEM: return "out of memory";
    case H3_ERR_NOBUFS: return "request pool exhausted";
    case H3_ERR_STATE: return "not allowed in the connection's state";
    case H3_ERR_SHUTDOWN: return "connection is shutting down";
    case H3_ERR_TLS: return "TLS failure";
    case H3_ERR_TLS_VERIFY: return "server certificate verification failed";
    case H3_ERR_QUIC: return "QUIC protocol error";
    case H3_ERR_HTTP3: return "HTTP/3 protocol error";
    case H3_ERR_IDLE_TIMEOUT: return "idle timeout";
    case H3_ERR_HANDSHAKE_TIMEOUT: return "handshake timeout";
    case H3_ERR_IO: return "I/O error";
    case H3_ERR_FILE: return "file error";
    case H3_ERR_CLOSED: return "connection closed";
    case H3_ERR_PEER_CLOSED: return "connection closed by peer";
    case H3_ERR_TOO_LARGE: return "request headers too large";
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *h3_state_str(enum h3_state s)
{
    switch (s) {
    case H3_STATE_CONNECTING: return "connecting";
    case H3_STATE_ESTABLISHED: return "established";
    case H3_STATE_DRAINING: return "draining";
    case H3_STATE_CLOSING: return "closing";
    case H3_STATE_CLOSED: return "closed";
    }
    return "?";
}

const char *h3_req_result_str(enum h3_req_result r)
{
    switch (r) {
    case H3_REQ_COMPLETED: return "completed";
    case H3_REQ_FAILED: return "failed";
    case H3_REQ_NOT_PROCESSED: return "not-processed";
    case H3_REQ_CANCELLED: return "cancelled";
    case H3_REQ_CONN_CLOSED: return "connection-closed";
    }
    return "?";
}

const char *h3_close_code_name(uint64_t code, enum h3_close_kind kind)
{
    if (kind == H3_CLOSE_APPLICATION) {
        static const char *const names[] = {
            "H3_NO_ERROR", "H3_GENERAL_PROTOCOL_ERROR", "H3_INTERNAL_ERROR",
            "H3_STREAM_CREATION_ERROR", "H3_CLOSED_CRITICAL_STREAM",
            "H3_FRAME_UNEXPECTED", "H3_FRAME_ERROR", "H3_EXCESSIVE_LOAD", "H3_ID_ERROR",
            "H3_SETTINGS_ERROR", "H3_MISSING_SETTINGS", "H3_REQUEST_REJECTED",
            "H3_REQUEST_CANCELLED", "H3_REQUEST_INCOMPLETE", "H3_MESSAGE_ERROR",
            "H3_CONNECT_ERROR", "H3_VERSION_FALLBACK",
        };
        if (code >= H3_H3_NO_ERROR && code < H3_H3_NO_ERROR + sizeof(names) / sizeof(names[0]))
            return names[code - H3_H3_NO_ERROR];
        return "application error";
    }
    if (kind == H3_CLOSE_TRANSPORT) {
        /* RFC 9000 §20.1; 0x0100-0x01ff carry a TLS alert. */
        if (code >= 0x100 && code <= 0x1ff)
            return "CRYPTO_ERROR";
        static const char *const names[] = {
            "NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED", "FLOW_CONTROL_ERROR",
            "STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR", "FINAL_SIZE_ERROR",
            "FRAME_ENCODING_ERROR", "TRANSPORT_PARAMETER_ERROR",
            "CONNECTION_ID_LIMIT_ERROR", "PROTOCOL_VIOLATION", "INVALID_TOKEN",
            "APPLICATION_ERROR", "CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR",
            "AEAD_LIMIT_REACHED", "NO_VIABLE_PATH",
        };
        if (code < sizeof(names) / sizeof(names[0]))
            return names[code];
        return "transport error";
    }
    return "";
}

const char *h3_outcome_str(const struct h3_outcome *o, char *buf, size_t len)
{
    const char *who = o->origin == H3_ORIGIN_LOCAL ? "local" : "remote";

    if (len == 0)
        return buf;
    switch (o->kind) {
    case H3_CLOSE_NONE:
        snprintf(buf, len, "open");
        break;
    case H3_CLOSE_TRANSPORT:
    case H3_CLOSE_APPLICATION:
        if (o->kind == H3_CLOSE_TRANSPORT && o->code >= 0x100 && o->code <= 0x1ff) {
            /* RFC 9001 §4.8: CRYPTO_ERROR carries the TLS alert in its low byte. */
            char alert[96];
            snprintf(buf, len, "error: %s transport 0x%" PRIx64 " (CRYPTO_ERROR: TLS alert %s)%s%s",
                     who, o->code, h3_tls_alert_str((unsigned)(o->code & 0xff), alert,
                                                    sizeof(alert)),
                     o->reason[0] ? ": " : "", o->reason);
            break;
        }
        snprintf(buf, len, "%s: %s %s 0x%" PRIx64 " (%s)%s%s", o->ok ? "ok" : "error", who,
                 o->kind == H3_CLOSE_APPLICATION ? "application" : "transport", o->code,
                 h3_close_code_name(o->code, o->kind), o->reason[0] ? ": " : "", o->reason);
        break;
    case H3_CLOSE_IDLE_TIMEOUT:
        snprintf(buf, len, "error: idle timeout");
        break;
    case H3_CLOSE_HANDSHAKE_TIMEOUT:
        snprintf(buf, len, "error: handshake timeout");
        break;
    case H3_CLOSE_STATELESS_RESET:
        snprintf(buf, len, "error: stateless reset from peer");
        break;
    case H3_CLOSE_INTERNAL:
        snprintf(buf, len, "error: %s%s%s", h3_strerror(o->err), o->reason[0] ? ": " : "",
                 o->reason);
        break;
    }
    return buf;
}
