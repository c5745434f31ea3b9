/*
 * caps.h - the built-in capability classes, one file each, for chain.c's
 * table. Tiers follow SPEC section 3.
 */
#ifndef ACRT_CAPS_H
#define ACRT_CAPS_H

#include "capability/chain.h"

extern const acrt__cap_class acrt__cap_schema_validator; /* tier 10, schema_validator.c */
extern const acrt__cap_class acrt__cap_rate_limit;       /* tier 20, rate_limit.c */
extern const acrt__cap_class acrt__cap_retry;            /* tier 40, retry.c */
extern const acrt__cap_class acrt__cap_circuit_breaker;  /* tier 50, circuit_breaker.c */
extern const acrt__cap_class acrt__cap_timeout;          /* tier 55, timeout.c */
extern const acrt__cap_class acrt__cap_dead_letter;      /* tier 80, dead_letter.c */

#endif /* ACRT_CAPS_H */
