/*
 * registry.c - the table of built-in component types (see registry.h), which
 * acrt__components_register hands to the catalogue of core/builtin.h. Types
 * listed with a NULL descriptor (none is, at present) make the validator say
 * "not available in this release" instead of "unknown type".
 */
#include "components/registry.h"
#include "core/builtin.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"

static const char *const none[] = {NULL};
static const char *const in_only[] = {"input", NULL};
static const char *const out_only[] = {"output", NULL};
static const char *const xf_out[] = {"output", "error", NULL};
static const char *const filter_out[] = {"output", "rejected", "error", NULL};
static const char *const router_out[] = {"default", "error", NULL};
static const char *const store_out[] = {"error", NULL};
static const char *const agg_out[] = {"output", "error", "late", NULL};
static const char *const acc_out[] = {"aggregate", "error", NULL};

static const acrt__builtin builtins[] = {
    {"Source", &acrt__source_desc, none, out_only, acrt__source_check, NULL},
    {"Transformer", &acrt__transformer_desc, in_only, xf_out, acrt__transformer_check, NULL},
    {"Sink", &acrt__sink_desc, in_only, none, acrt__sink_check, NULL},
    {"Filter", &acrt__filter_desc, in_only, filter_out, acrt__filter_check, NULL},
    {"Router", &acrt__router_desc, in_only, router_out, acrt__router_check, acrt__router_out_ports},
    {"Aggregator", &acrt__aggregator_desc, in_only, agg_out, acrt__aggregator_check, NULL},
    {"Store", &acrt__store_desc, in_only, store_out, acrt__store_check, NULL},
    {"APIEndpoint", &acrt__endpoint_desc, none, out_only, acrt__endpoint_check, NULL},
    {"Passthrough", &acrt__passthrough_desc, in_only, out_only, acrt__ports_check, NULL},
    {"Dedup", &acrt__dedup_desc, in_only, xf_out, acrt__dedup_check, NULL},
    {"Accumulator", &acrt__accumulator_desc, in_only, acc_out, acrt__accumulator_check, NULL},
};

char *
acrt__config_path(acrt_ctx *ctx, const char *key)
{
	return acrt__path_join(acrt_base_dir(ctx), acrt_config_string(ctx, key, ""));
}

void
acrt__components_register(void)
{
	acrt__builtins_register(builtins, sizeof builtins / sizeof builtins[0]);
}
