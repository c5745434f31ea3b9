/*
 * secret.c - see secret.h.
 */
#include "core/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/common.h"

int
acrt__secret_file_read(const char *path, size_t max, char **out)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char *buf = acrt__malloc(max + 2);
	if (buf == NULL) {
		fclose(f);
		errno = ENOMEM;
		return -1;
	}
	size_t n = fread(buf, 1, max + 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
	                   s[len - 1] == '\n'))
		len--;
	int rc = -2;
	if (len > 0 && n <= max && memchr(s, '\0', len) == NULL) {
		/* Plain malloc: the callers free() it (secret.h), in other folders too. */
		*out = strndup(s, len);
		rc = *out != NULL ? 0 : -1; /* -1 with errno ENOMEM */
	}
	explicit_bzero(buf, max + 2);
	acrt__free(buf);
	return rc;
}

int
acrt__secret_file_private(const char *path, unsigned *mode)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	*mode = (unsigned)(st.st_mode & 0777);
	return (st.st_mode & 077) != 0 ? 1 : 0;
}
