/*
 * testpoint.h - the two test endpoints of `acrt test` (docs/TESTING.md): a
 * source that feeds a test's events and a sink that captures what the
 * components under test emit. blueprint/testfile.h's cut binds them in place
 * of the components a test leaves out; the runtime runs them like any other
 * component (their descriptors are given in acrt__comp_spec.desc).
 *
 * Threads and ownership: the caller fills an acrt__test_feed and an empty
 * acrt__test_got before acrt__runtime_run and reads the capture after it
 * returns. During the run the feed is read only by the feeder's thread and
 * the capture written only by the capture's (one instance each); the task
 * group's join orders both against the caller.
 */
#ifndef ACRT_RUNTIME_TESTPOINT_H
#define ACRT_RUNTIME_TESTPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "acrt/acrt.h"

/* One event to feed: its JSON text and the feeder's port ("COMPONENT.PORT"). */
typedef struct acrt__test_feed_ev {
	const char *port;
	const char *text; /* borrowed */
	size_t len;
} acrt__test_feed_ev;

/*
 * Fed in order. When the port changes, the feeder first waits until the
 * component has taken every event sent to the previous port, so that a
 * component with several inputs sees them in the order of the test.
 */
typedef struct acrt__test_feed {
	const acrt__test_feed_ev *evs;
	size_t n;
} acrt__test_feed;

/* The events captured on one port ("COMPONENT.PORT"), in arrival order. Each
 * text is acrt__malloc'd with ACRT__JSON_PADDING readable bytes after it. */
typedef struct acrt__test_got_port {
	const char *port; /* borrowed: set by the caller */
	char **texts;
	size_t *lens;
	size_t n, cap;
} acrt__test_got_port;

typedef struct acrt__test_got {
	acrt__test_got_port *ports;
	size_t n;
} acrt__test_got;

extern const acrt_component_desc acrt__test_feeder_desc;
extern const acrt_component_desc acrt__test_capture_desc;

/* Frees the captured texts (not the ports array). */
void acrt__test_got_clear(acrt__test_got *g);

#endif /* ACRT_RUNTIME_TESTPOINT_H */
