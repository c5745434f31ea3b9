# install_time.cmake - the install steps that depend on the final prefix, run by
# `cmake --install` (included from the install(CODE) in cmake/install.cmake).
# CMAKE_INSTALL_PREFIX is the install-time one (`cmake --install --prefix P`
# and `make install PREFIX=P` both work); file(INSTALL) adds DESTDIR itself.
# Writes:
#   LIBDIR/pkgconfig/acrt.pc                  prefix and libdir of this install
#   DOCDIR/examples/quickstart/architecture.yaml  with the enrich plugin's
#                                             installed absolute path
# Inputs (set by the caller): ACRT_SOURCE_DIR, ACRT_GEN_DIR, ACRT_LIBDIR,
# ACRT_INCLUDEDIR, ACRT_DOCDIR (relative or absolute, as GNUInstallDirs gives
# them), ACRT_VERSION, ACRT_ABI_MAJOR, ACRT_ABI_MINOR.
foreach(v LIBDIR INCLUDEDIR DOCDIR)
  if(IS_ABSOLUTE "${ACRT_${v}}")
    set(full_${v} "${ACRT_${v}}")
  else()
    set(full_${v} "${CMAKE_INSTALL_PREFIX}/${ACRT_${v}}")
  endif()
endforeach()

set(ACRT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
string(REPLACE "${CMAKE_INSTALL_PREFIX}/" "\${prefix}/" ACRT_PC_LIBDIR "${full_LIBDIR}")
string(REPLACE "${CMAKE_INSTALL_PREFIX}/" "\${prefix}/" ACRT_PC_INCLUDEDIR "${full_INCLUDEDIR}")
configure_file("${ACRT_SOURCE_DIR}/cmake/acrt.pc.in" "${ACRT_GEN_DIR}/acrt.pc" @ONLY)
file(INSTALL DESTINATION "${full_LIBDIR}/pkgconfig" TYPE FILE FILES "${ACRT_GEN_DIR}/acrt.pc")

# The quickstart names its plugin relative to the source tree
# (../../build/examples/libenrich.so); the installed copy names the installed
# plugin, by absolute path, so that the directory can be copied anywhere.
set(from "plugin:../../build/examples/libenrich.so")
set(to "plugin:${full_LIBDIR}/acrt/examples/libenrich.so")
file(READ "${ACRT_SOURCE_DIR}/examples/quickstart/architecture.yaml" yaml)
string(FIND "${yaml}" "${from}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "examples/quickstart/architecture.yaml no longer names ${from}: "
                      "update cmake/install_time.cmake")
endif()
string(REPLACE "${from}" "${to}" yaml "${yaml}")
set(note "# Installed copy: the plugin path below is the installed example plugin.\n")
string(APPEND note "# Copy this directory somewhere writable and run `acrt run DIR`.\n")
file(WRITE "${ACRT_GEN_DIR}/quickstart/architecture.yaml" "${note}${yaml}")
file(INSTALL DESTINATION "${full_DOCDIR}/examples/quickstart" TYPE FILE
     FILES "${ACRT_GEN_DIR}/quickstart/architecture.yaml")

# A plain `make install` as root into a prefix the dynamic linker searches:
# refresh its cache so that plugins linked with -lacrt find libacrt.so.N.
if("$ENV{DESTDIR}" STREQUAL "" AND CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?$"
   AND EXISTS /sbin/ldconfig)
  execute_process(COMMAND /sbin/ldconfig RESULT_VARIABLE _rc ERROR_QUIET)
endif()
