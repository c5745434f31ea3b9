# install.cmake - `make install` (cmake --install): what acrt installs and where,
# by GNUInstallDirs (PREFIX and DESTDIR honoured; docs/OPERATIONS.md,
# "Installing"). Included at the end of the top-level CMakeLists.txt.
#
#   BINDIR/acrt                          the command (the runtime is inside it)
#   LIBDIR/libacrt.so.MAJOR(.MINOR)      what plugins link against; SONAME
#                                        after the component ABI's major
#   LIBDIR/libacrt.so, INCLUDEDIR/acrt/*.h, LIBDIR/pkgconfig/acrt.pc
#   LIBDIR/acrt/examples/libenrich.so    the example plugin, built
#   MANDIR/man1/acrt.1, acrt-COMMAND.1   generated from `acrt help`
#   DOCDIR (share/doc/acrt)              README.md, docs/*.md
#   DOCDIR/examples/{quickstart,enrich}  the quickstart (and its tests/) and the plugin source
include(GNUInstallDirs)

# The component ABI version, read from the public header: the SONAME follows it.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/acrt/acrt.h _acrt_abi REGEX "^#define ACRT_ABI_(MAJOR|MINOR) ")
string(REGEX MATCH "ACRT_ABI_MAJOR ([0-9]+)" _m "${_acrt_abi}")
set(ACRT_ABI_MAJOR ${CMAKE_MATCH_1})
string(REGEX MATCH "ACRT_ABI_MINOR ([0-9]+)" _m "${_acrt_abi}")
set(ACRT_ABI_MINOR ${CMAKE_MATCH_1})
if(ACRT_ABI_MAJOR STREQUAL "" OR ACRT_ABI_MINOR STREQUAL "")
  message(FATAL_ERROR "cannot read ACRT_ABI_MAJOR/MINOR from include/acrt/acrt.h")
endif()

# libacrt: one symbol per ACRT_API function, generated from acrt.h
# (cmake/libacrt.c.in says why the bodies never run inside acrt).
set(_acrt_stub_c ${CMAKE_BINARY_DIR}/gen/libacrt.c)
add_custom_command(
  OUTPUT ${_acrt_stub_c}
  COMMAND ${CMAKE_COMMAND} -DHEADER=${CMAKE_SOURCE_DIR}/include/acrt/acrt.h
          -DTEMPLATE=${CMAKE_SOURCE_DIR}/cmake/libacrt.c.in -DOUT=${_acrt_stub_c}
          -DACRT_ABI_MAJOR=${ACRT_ABI_MAJOR} -P ${CMAKE_SOURCE_DIR}/cmake/gen_libacrt.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/include/acrt/acrt.h ${CMAKE_SOURCE_DIR}/cmake/libacrt.c.in
          ${CMAKE_SOURCE_DIR}/cmake/gen_libacrt.cmake
  COMMENT "Generating libacrt.c from include/acrt/acrt.h")
add_library(libacrt SHARED ${_acrt_stub_c})
set_target_properties(libacrt PROPERTIES OUTPUT_NAME acrt
                      VERSION ${ACRT_ABI_MAJOR}.${ACRT_ABI_MINOR} SOVERSION ${ACRT_ABI_MAJOR}
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
# The example plugin links it like an out-of-tree plugin does, so every run of
# the quickstart checks that its calls still bind to the acrt executable.
target_link_libraries(example_enrich PRIVATE libacrt)

# Man pages from the help text (scripts/gen-man.sh runs the acrt just built).
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/man/acrt.1
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/gen-man.sh $<TARGET_FILE:acrt> ${CMAKE_BINARY_DIR}/man
  DEPENDS acrt ${CMAKE_SOURCE_DIR}/scripts/gen-man.sh
  COMMENT "Generating man pages from acrt help")
add_custom_target(man ALL DEPENDS ${CMAKE_BINARY_DIR}/man/acrt.1)

install(TARGETS acrt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The systemd template unit (docs/OPERATIONS.md), naming the installed acrt.
file(READ ${CMAKE_SOURCE_DIR}/dist/systemd/acrt@.service ACRT_UNIT)
string(REPLACE "/usr/bin/acrt" "${CMAKE_INSTALL_FULL_BINDIR}/acrt" ACRT_UNIT "${ACRT_UNIT}")
file(WRITE ${CMAKE_BINARY_DIR}/gen/acrt@.service "${ACRT_UNIT}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/dist/systemd/acrt@.service)
install(FILES ${CMAKE_BINARY_DIR}/gen/acrt@.service DESTINATION lib/systemd/system)
install(TARGETS libacrt LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/acrt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(TARGETS example_enrich LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/acrt/examples)
# LIBDIR/acrt is always an allowed plugin directory (src/blueprint/plugins.c,
# docs/SECURITY.md); found from the installed executable, so --prefix works.
file(RELATIVE_PATH _acrt_plugin_rel ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR}/acrt)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/blueprint/plugins.c APPEND PROPERTY COMPILE_DEFINITIONS
             ACRT_INSTALL_BINDIR="${CMAKE_INSTALL_BINDIR}"
             ACRT_PLUGIN_DIR_FROM_BIN="${_acrt_plugin_rel}")
install(DIRECTORY ${CMAKE_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1")
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png")  # console.png: docs/CONSOLE.md
install(FILES ${CMAKE_SOURCE_DIR}/examples/enrich/enrich.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/enrich)
install(FILES ${CMAKE_SOURCE_DIR}/examples/quickstart/README.md
              ${CMAKE_SOURCE_DIR}/examples/quickstart/deployment.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/quickstart)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/quickstart/tests
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/quickstart) # acrt test
# acrt.pc and the quickstart's architecture.yaml name the final prefix.
install(CODE "
  set(ACRT_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(ACRT_GEN_DIR \"${CMAKE_BINARY_DIR}/gen/install\")
  set(ACRT_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(ACRT_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(ACRT_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
  set(ACRT_VERSION \"${PROJECT_VERSION}\")
  set(ACRT_ABI_MAJOR \"${ACRT_ABI_MAJOR}\")
  set(ACRT_ABI_MINOR \"${ACRT_ABI_MINOR}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/install_time.cmake\")
")
