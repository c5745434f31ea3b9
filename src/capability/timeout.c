/*
 * timeout.c - the timeout capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_timeout = {
    .name = "timeout",
    .tier = 55,
};
