/* pattern_check FILE N: exit 0 when FILE is exactly the N-byte /bytes/N body of
 * h3sink (byte i = i % 251), 1 otherwise (with the first difference). */
#include <stdio.h>
#include <stdlib.h>

#include "sink_http.h"

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 16];
    unsigned long long want, off = 0;
    char *end;
    FILE *f;
    size_t n;

    if (argc != 3 || (want = strtoull(argv[2], &end, 10), *end != '\0')) {
        fprintf(stderr, "usage: pattern_check FILE N\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        size_t ok = sink_pattern_check(buf, n, off);
        if (ok != n) {
            fprintf(stderr, "%s: wrong byte at offset %llu\n", argv[1], off + ok);
            fclose(f);
            return 1;
        }
        off += n;
    }
    fclose(f);
    if (off != want) {
        fprintf(stderr, "%s: %llu bytes, expected %llu\n", argv[1], off, want);
        return 1;
    }
    return 0;
}
