/*
 * h3_io.h: the I/O seam between the HTTP/3 driver and a packet backend.
 *
 * The driver writes each QUIC packet straight into a buffer the backend lends
 * it: tx_get() lends one, tx_put() hands back the filled packet for sending,
 * tx_abort() returns an unused buffer. Exactly one tx_get/tx_put (or tx_abort)
 * pair per packet. Backends: kernel UDP (kio.c), in-memory loopback
 * (h3_loop.c), DPDK mbufs (dataplane/).
 *
 * ECN (RFC 9000 13.4): the driver passes the codepoint ngtcp2 asks for with each packet
 * (tx_put), and the backend hands the codepoint each datagram arrived with to
 * h3_conn_recv(); both are the two low bits of the IP TOS / traffic class byte.
 */
#ifndef H3DP_H3_IO_H
#define H3DP_H3_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct h3_io_ops {
    /* Lend a TX buffer of at least 1200 bytes. Sets *|cap| to its size and
     * *|pkt| to the backend's handle for it. NULL: no buffer now (the driver
     * stops writing and retries on its next call). */
    uint8_t *(*tx_get)(void *io, size_t *cap, void **pkt);
    /* Send the packet of |len| bytes in |pkt| with ECN codepoint |ecn|.
     * Returns 0 or a negative error (the packet is dropped; QUIC recovers). */
    int (*tx_put)(void *io, void *pkt, size_t len, uint8_t ecn);
    /* Give back a buffer that was not used. */
    void (*tx_abort)(void *io, void *pkt);
    /* Optional (NULL: not wanted). The peer acknowledged data we sent (stream data, or
     * the handshake is confirmed) since the last call: the path to it works. A
     * reachability hint for the backend's neighbour cache (RFC 4861 7.3.1: upper-layer
     * confirmation), so a busy path is never re-probed and a spoofed ARP/NDP claim is
     * dismissed by the traffic itself. Called at most once per received datagram, after
     * the library returned, at |now_ns|; cheap backends only (no lock, no syscall). */
    void (*progress)(void *io, uint64_t now_ns);
};

#ifdef __cplusplus
}
#endif

#endif /* H3DP_H3_IO_H */
