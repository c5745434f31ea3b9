/*
 * secret.h - reading a secret from a file (an API token, a broker password):
 * the file's content without surrounding whitespace. Used by the HTTP API, the
 * APIEndpoint's bearer check and the CLI's API client. Any thread; blocks on
 * the file read only.
 */
#ifndef ACRT_SECRET_H
#define ACRT_SECRET_H

#include <stddef.h>

/* Reads a small secret file (a token, an address): its content without
 * surrounding whitespace, malloc'd (the caller frees it with free(), after
 * wiping it for a token). Returns 0; -1 when it cannot be read (errno set); -2
 * when it is empty, longer than max bytes, or holds a NUL. The read buffer is
 * wiped. */
int acrt__secret_file_read(const char *path, size_t max, char **out);

/* Whether a secret file is its owner's alone (no permission bit for its group
 * or others): 0 yes; 1 no, *mode then holds its permission bits; -1 when it
 * cannot be stat'ed (errno set). A file of credentials is refused otherwise. */
int acrt__secret_file_private(const char *path, unsigned *mode);

#endif /* ACRT_SECRET_H */
