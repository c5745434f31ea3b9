/*
 * rate_limit.c - the rate_limit capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_rate_limit = {
    .name = "rate_limit",
    .tier = 20,
};
