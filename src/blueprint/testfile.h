/*
 * testfile.h - the unit tests of a blueprint (`acrt test`, docs/TESTING.md):
 * test files read with the blueprint's YAML reader, so that every mistake is
 * reported as "file:line:col: message", and the cut of a loaded blueprint
 * down to the components a test names (testcut.c).
 *
 * A test file holds `tests:`, a list of tests. Each names a component or a
 * sub-graph (a list of components; the bindings between them are the
 * blueprint's), the events fed to its input ports and the events expected on
 * its output ports, each exact (JSON compared by value, numbers exactly), a
 * part of the event (contains:) or a jq condition. Events are kept as JSON text whose numbers are
 * the text written in the file, so that nothing is rounded on the way in.
 *
 * Threads: everything here runs on the caller's thread. Ownership: an
 * acrt__test_file owns every string in it; marks point at its path.
 */
#ifndef ACRT_BLUEPRINT_TESTFILE_H
#define ACRT_BLUEPRINT_TESTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"

/* One event fed or expected. */
typedef struct acrt__test_item {
	char *json; /* JSON text (numbers as written), or NULL for a condition */
	size_t len;
	char *jq;      /* a jq condition the event must meet, or NULL */
	bool contains; /* json is what the event must hold (contains:), not equal */
	acrt__mark mark;
} acrt__test_item;

/* The events of one port, in order. */
typedef struct acrt__test_port {
	char *comp, *port; /* COMPONENT.PORT, the component filled in when omitted */
	acrt__mark mark;   /* the key */
	acrt__test_item *items;
	size_t n;
} acrt__test_port;

typedef struct acrt__test_case {
	char *name;
	acrt__mark mark;
	char **comps; /* the components under test, as listed */
	acrt__mark *comp_marks;
	size_t n_comps;
	acrt__test_port *inputs; /* fed in this order, port by port */
	size_t n_inputs;
	bool input_segments;     /* input: was a list of mappings: a port may come back */
	acrt__test_port *expect; /* only these ports are checked */
	size_t n_expect;
	bool any_order;     /* order: any: each port's events may come in any order */
	int64_t timeout_ms; /* timeout_ms: the run is stopped past it (10000) */
} acrt__test_case;

typedef struct acrt__test_file {
	char *path; /* as given; every mark points at it */
	acrt__test_case *cases;
	size_t n;
} acrt__test_file;

/* Reads a test file. 0 with *out set, or -1 with every error found appended
 * to d (file:line:col: message); *out is then set too when the file's list
 * of tests could be read (with what was read: acrt__testfile_check may still
 * report the rest), else left untouched. */
int acrt__testfile_load(const char *path, acrt__test_file **out, acrt__diag *d);
void acrt__testfile_free(acrt__test_file *f);

/* Checks a jq program (components/jq.h's acrt__jq_check, handed in from
 * above): 0, or -1 with a one-line reason in err. */
typedef int (*acrt__test_jq_check_fn)(const char *prog, char *err, size_t errlen);

/* Checks f's tests against bp: the components exist, each input is fed from
 * outside the tested components, each expected output goes outside them, the
 * jq conditions compile. 0, or -1 with the errors appended to d. */
int acrt__testfile_check(const acrt__test_file *f, const acrt__blueprint *bp,
                         acrt__test_jq_check_fn jq_check, acrt__diag *d);

/*
 * Cuts bp down to the components named (n of them, checked as above) for one
 * test (testcut.c): they keep their bindings among themselves; every input
 * port bound from a component left out is fed instead by one test source
 * (descriptor `feeder`, its argument `feeder_arg`), whose output port
 * "COMPONENT.PORT" is bound to it, and every output port bound to a component
 * left out is bound instead to an input port "COMPONENT.PORT" of one test
 * sink (`capture`, `capture_arg`). The components left out are freed. Each
 * kept component runs one instance (replicas: 1), so that the order of its
 * outputs is the order of its inputs; checkpoints (runtime.state) and nodes
 * are off. bp can then only be run once and freed. 0, or -1 with a reason in
 * err (out of memory).
 */
int acrt__blueprint_test_cut(acrt__blueprint *bp, char *const *names, size_t n,
                             const acrt_component_desc *feeder, void *feeder_arg,
                             const acrt_component_desc *capture, void *capture_arg, char *err,
                             size_t errlen);

#endif /* ACRT_BLUEPRINT_TESTFILE_H */
