/*
 * schema_validator.c - the schema_validator capability (stub: being written).
 */
#include "capability/caps.h"

const acrt__cap_class acrt__cap_schema_validator = {
    .name = "schema_validator",
    .tier = 10,
};
