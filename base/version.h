/* version.h: what every h3dp program prints for --version.
 *
 * The release is meson's project version; a build from a git checkout adds what
 * `git describe --always --dirty` said at build time (meson's vcs_tag), so a binary names
 * the exact commit it came from. */
#ifndef H3DP_VERSION_H
#define H3DP_VERSION_H

#include <stdio.h>

/* The version text: "0.1.0", or "0.1.0 (git 38f7299-dirty)" when built from git. */
const char *h3dp_version(void);

/* Prints "|prog| VERSION" and one line naming the project to |out| (the --version text). */
void h3dp_version_print(FILE *out, const char *prog);

#endif
