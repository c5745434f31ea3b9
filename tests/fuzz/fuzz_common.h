/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz share: one
 * private temporary directory per process (in /dev/shm, else /tmp; removed
 * at exit, with what the harness wrote into it), writing an input to a file there, and splitting an
 * input in two at a separator line. Harnesses write no file anywhere else.
 * See docs/FUZZING.md.
 */
#ifndef ACRT_FUZZ_COMMON_H
#define ACRT_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs made of two files (architecture and deployment, schema and
 * instance) separate them with this line; no separator: the second is absent. */
#define FUZZ_SEP "\n%%%%\n"
#define FUZZ_SEP_LEN 6

/* An invariant of the code under test: when it does not hold, say which one
 * (abort() calls are merged by the optimiser, so a line number is not enough). */
#define FUZZ_ASSERT(c)                                                                             \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* In /dev/shm (memory) when there is one: on a busy disk, rewriting a file
 * in /tmp can stall for seconds, which libFuzzer reports as a timeout. */
static char fuzz_dir_buf[64];

/* Removes the files directly in the directory (and its .acrt/ subdirectory). */
static __attribute__((unused)) void
fuzz_rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 3)
			fuzz_rm_tree(p, depth + 1);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
fuzz_cleanup(void)
{
	fuzz_rm_tree(fuzz_dir_buf, 0);
}

/* The process's temporary directory, made on the first call. */
static __attribute__((unused)) const char *
fuzz_dir(void)
{
	static int made;
	if (!made) {
		snprintf(fuzz_dir_buf, sizeof fuzz_dir_buf, "%s/acrt-fuzz-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (mkdtemp(fuzz_dir_buf) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_cleanup);
		made = 1;
	}
	return fuzz_dir_buf;
}

/* Writes n bytes as dir/name; returns the path (static buffer per slot 0..3). */
static __attribute__((unused)) const char *
fuzz_write(int slot, const char *name, const void *p, size_t n)
{
	static char paths[4][256];
	snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir(), name);
	FILE *f = fopen(paths[slot], "wb");
	if (f == NULL) {
		perror(paths[slot]);
		abort();
	}
	if (n > 0 && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
	return paths[slot];
}

/* Splits data at the first FUZZ_SEP: the first part in a and an, the rest
 * in b and bn (b NULL when there is no separator). */
static __attribute__((unused)) void
fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *an, const uint8_t **b,
           size_t *bn)
{
	const uint8_t *s = size >= FUZZ_SEP_LEN ? memmem(data, size, FUZZ_SEP, FUZZ_SEP_LEN) : NULL;
	*a = data;
	if (s == NULL) {
		*an = size;
		*b = NULL;
		*bn = 0;
		return;
	}
	*an = (size_t)(s - data);
	*b = s + FUZZ_SEP_LEN;
	*bn = size - *an - FUZZ_SEP_LEN;
}

#endif /* ACRT_FUZZ_COMMON_H */
