/* up_headers: the upload engine's headers file ([upload] headers_file = PATH) — header
 * fields added to every upload request: how an operator sends "authorization: Bearer ...",
 * API keys or tenant ids to a collector.
 *
 * The file, one field per line:
 *   # a comment: '#' first on the line (spaces or tabs may come before it)
 *   Authorization: Bearer eyJhbGciOi...
 *   X-Tenant:   acme
 * - Blank lines (spaces and tabs only) are ignored; lines end in LF or CRLF (a CR anywhere
 *   else is a bare CR, refused). '#' later on a line is part of the value, not a comment.
 * - The name is a token (RFC 9110 §5.1, tchar of §5.6.2), lowercased as HTTP/3 requires
 *   (RFC 9114 §4.2). Repeated names are kept, in file order.
 * - The value is what follows the first ':', optional whitespace (SP, HTAB) around it
 *   trimmed: field-vchar and obs-text with SP and HTAB between (RFC 9110 §5.5). An empty
 *   value is allowed (RFC 9110 allows it).
 * - Refused: a line that starts with whitespace (no obs-fold continuation lines), a line
 *   without ':', an empty name, a pseudo-header (":name"), whitespace or any other
 *   non-tchar in the name, the connection-specific fields (connection, keep-alive,
 *   proxy-connection, transfer-encoding, upgrade, te; RFC 9114 §4.2) and host (HTTP/3 has
 *   :authority), the fields h3dp sets itself (content-type, content-length,
 *   content-encoding, content-digest, h3dp-batch, h3dp-records, h3dp-framing), a control
 *   character other than HTAB (or DEL) in the value, a bare CR.
 * - Limits: UP_HEADERS_LINE_MAX bytes a line (its end not counted), UP_HEADERS_FILE_MAX
 *   bytes the file, UP_HEADERS_MAX fields.
 * - The file holds secrets: it must be a regular file (a symlink to one is followed) that
 *   others can neither read nor write (mode & 0006 == 0); group-readable is fine.
 *
 * Values are secrets: no function here logs or prints one, and no error message quotes
 * one (nor a malformed name, which may be a pasted secret). Errors are one line:
 * "PATH:LINE: reason" for a line, "PATH: reason" for the file. The memory holding the
 * values (and the file's text) is zeroed before it is freed. */
#ifndef H3DP_UP_HEADERS_H
#define H3DP_UP_HEADERS_H

#include <stddef.h>

#include "h3.h"

#define UP_HEADERS_MAX      32          /* fields in the file */
#define UP_HEADERS_LINE_MAX (16 * 1024) /* bytes a line, without its LF or CRLF */
#define UP_HEADERS_FILE_MAX (64 * 1024) /* bytes the file */

/* The fields of one file: names and values in one owned block. */
struct up_headers;

/* Reads and validates the headers file |path| (opened without blocking, so a FIFO cannot
 * hang the caller; a file larger than UP_HEADERS_FILE_MAX is refused without reading it).
 * Returns 0 with *|out| set (free with up_headers_del), or a negative errno with *|out| =
 * NULL and a one-line reason in |why| (|whylen| bytes, may be 0):
 *   -ENOENT, -EACCES, ... (open failed: the errno of open), -EIO, ... (read failed),
 *   -EISDIR (a directory), -EINVAL (not a regular file, or a syntax error as in
 *   up_headers_parse), -EACCES (readable or writable by others), -EFBIG (the file or a
 *   line too large), -E2BIG (more than UP_HEADERS_MAX fields), -ENOMEM. */
int up_headers_load(const char *path, struct up_headers **out, char *why, size_t whylen);

/* Parses |len| bytes of headers-file |text| (need not be NUL-terminated); |label| names it
 * in errors (the path; NULL: "headers"). Returns 0 with *|out| set, or a negative errno with
 * *|out| = NULL and a one-line reason in |why|: -EINVAL (a refused line, see above),
 * -EFBIG (|len| over UP_HEADERS_FILE_MAX, or a line over UP_HEADERS_LINE_MAX), -E2BIG (more
 * than UP_HEADERS_MAX fields), -ENOMEM. */
int up_headers_parse(const char *text, size_t len, const char *label, struct up_headers **out,
                     char *why, size_t whylen);

/* The number of fields in |h| (0..UP_HEADERS_MAX). */
size_t up_headers_count(const struct up_headers *h);

/* The (lowercase) name and the value of field |i|, in file order; NULL when |i| is not
 * below up_headers_count(). Valid until up_headers_del. */
const char *up_headers_name(const struct up_headers *h, size_t i);
const char *up_headers_value(const struct up_headers *h, size_t i);

/* The fields as an array of up_headers_count() entries (file order), ready to be appended
 * to a request's h3_header list. Valid until up_headers_del. */
const struct h3_header *up_headers_list(const struct up_headers *h);

/* Zeroes and frees |h|. NULL is fine. */
void up_headers_del(struct up_headers *h);

#endif
