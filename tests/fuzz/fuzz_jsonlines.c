/*
 * fuzz_jsonlines.c - libFuzzer target for reading JSON lines as the file
 * Source does (src/components/source.c): the input is a file read with the
 * line reader (src/components/linereader.c, lines over 1 KiB skipped), each
 * line checked in place with acrt__json_check (simdjson, src/core/json*).
 * Every line it accepts must then be readable by what the components use:
 * lookup, fields, walk, to_jansson, and the jansson value written back must
 * be valid JSON again. docs/FUZZING.md.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "components/linereader.h"
#include "core/common.h"
#include "core/json.h"
#include "fuzz_common.h"
#include "runtime/runtime.h"

/* A context the reader can flush and ask acrt_stopping(): no outputs, no
 * checkpoint trigger, no reload (all zero). */
static acrt__runtime rt;
static acrt__comp_spec spec;
static acrt_component_desc desc;
static acrt__comp comp;
static acrt_ctx ctx;

static int
on_field(void *arg, const char *key, size_t klen, const acrt__jval *v)
{
	(void)key;
	(void)klen;
	json_t *j = acrt__jval_to_jansson(v);
	FUZZ_ASSERT(j != NULL);
	json_decref(j);
	++*(size_t *)arg;
	return 0;
}

static int
on_any(void *arg)
{
	++*(size_t *)arg;
	return 0;
}
static int
on_str(void *arg, const char *s, size_t n)
{
	(void)s;
	(void)n;
	return on_any(arg);
}
static int
on_num(void *arg, const char *raw, size_t n, double d)
{
	(void)d;
	FUZZ_ASSERT(n > 0 && raw != NULL);
	return on_any(arg);
}
static int
on_lit(void *arg, acrt__jtype t)
{
	FUZZ_ASSERT(t == ACRT__J_NULL || t == ACRT__J_TRUE || t == ACRT__J_FALSE);
	return on_any(arg);
}

static const acrt__jvisit visit = {on_any, on_str, on_any, on_any, on_any, on_str, on_num, on_lit};

static void
one_line(const char *line, size_t len, size_t room)
{
	char why[128];
	if (acrt__json_check(line, len, room, why, sizeof why) != 0)
		return;
	static const char *const keys[] = {"a", "b"};
	static const size_t klens[] = {1, 1};
	acrt__jval v;
	/* Valid for the check: valid for every reader. */
	FUZZ_ASSERT(acrt__json_lookup(line, len, room, keys, klens, 2, &v) >= 0);
	size_t n = 0;
	FUZZ_ASSERT(acrt__json_fields(line, len, room, on_field, &n) >= 0);
	FUZZ_ASSERT(acrt__json_walk(line, len, room, &visit, &n) == 0);
	json_t *j = acrt__json_to_jansson(line, len, room);
	FUZZ_ASSERT(j != NULL);
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	acrt__jbuf_jansson(&b, j);
	size_t olen = 0;
	char *out = acrt__jbuf_take(&b, &olen);
	FUZZ_ASSERT(out != NULL);
	/* What we write back is JSON. */
	FUZZ_ASSERT(acrt__json_check(out, olen, olen + ACRT__JSON_PADDING, why, sizeof why) == 0);
	acrt__free(out);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ctx.rt == NULL) {
		comp.spec = &spec;
		comp.desc = &desc;
		ctx.rt = &rt;
		ctx.comp = &comp;
	}
	int fd = memfd_create("acrt-fuzz-lines", MFD_CLOEXEC); /* no file on disk */
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	acrt__linereader lr;
	if (acrt__lr_init(&lr, fd, 1024) != 0)
		abort();
	const char *line;
	size_t len;
	uint64_t total = 0;
	int rc;
	while ((rc = acrt__lr_next(&lr, &ctx, false, &line, &len)) >= 1) {
		if (rc == 1)
			one_line(line, len, acrt__lr_room(&lr, line));
		else
			FUZZ_ASSERT(rc == ACRT__LR_SKIPPED && len > 1024);
		total += len;
	}
	FUZZ_ASSERT(rc == 0 && lr.consumed <= size && total <= size);
	acrt__lr_free(&lr);
	close(fd);
	return 0;
}
