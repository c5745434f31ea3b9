/*
 * dead_letter.c - the dead_letter capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_dead_letter = {
    .name = "dead_letter",
    .tier = 80,
};
