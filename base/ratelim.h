/* ratelim: how often a repeated log line may be written — a token bucket on the caller's
 * clock: at most |burst| lines at once, then one per |interval_ns|; the refused ones are
 * counted so the next line can say how many were held back. Time is an input (the loop's
 * |now|); no clock, no lock: one owner thread. */
#ifndef H3DP_RATELIM_H
#define H3DP_RATELIM_H

#include <stdbool.h>
#include <stdint.h>

struct ratelim {
    uint64_t interval_ns; /* one more line per interval */
    unsigned burst;       /* lines allowed at once */
    unsigned tokens;
    uint64_t last; /* when tokens were last added; 0: never used */
    uint64_t held; /* lines refused since the last one allowed */
};

/* A limiter allowing |burst| (>= 1) lines at once and one per |interval_ns| (> 0) after. */
static inline void ratelim_init(struct ratelim *r, unsigned burst, uint64_t interval_ns)
{
    *r = (struct ratelim){.interval_ns = interval_ns, .burst = burst ? burst : 1};
}

/* May a line be written at |now|? True with *|held| = how many were refused since the last
 * one allowed (to be said in this line); false when it must be held back (counted). */
static inline bool ratelim_allow(struct ratelim *r, uint64_t now, uint64_t *held)
{
    if (r->last == 0 || now < r->last) {
        r->last = now ? now : 1;
        r->tokens = r->burst;
    } else {
        uint64_t add = (now - r->last) / r->interval_ns;
        if (add) {
            r->tokens = add >= r->burst - r->tokens ? r->burst : r->tokens + (unsigned)add;
            r->last += add * r->interval_ns;
        }
    }
    if (r->tokens == 0) {
        r->held++;
        return false;
    }
    r->tokens--;
    *held = r->held;
    r->held = 0;
    return true;
}

#endif
