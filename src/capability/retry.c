/*
 * retry.c - the retry capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_retry = {
    .name = "retry",
    .tier = 40,
};
