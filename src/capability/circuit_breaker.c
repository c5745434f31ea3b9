/*
 * circuit_breaker.c - the circuit_breaker capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_circuit_breaker = {
    .name = "circuit_breaker",
    .tier = 50,
};
