/*
 * version.h - the version of acrt these headers belong to. Compare
 * ACRT_VERSION_NUMBER (compile time) with acrt_version_number() (run time).
 */
#ifndef ACRT_VERSION_H
#define ACRT_VERSION_H

#define ACRT_VERSION_MAJOR 0
#define ACRT_VERSION_MINOR 1
#define ACRT_VERSION_PATCH 0
#define ACRT_VERSION_STRING "0.1.0"
#define ACRT_VERSION_NUMBER                                                                        \
	(ACRT_VERSION_MAJOR * 1000000 + ACRT_VERSION_MINOR * 1000 + ACRT_VERSION_PATCH)

#endif /* ACRT_VERSION_H */
