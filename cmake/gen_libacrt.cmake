# gen_libacrt.cmake - writes the source of libacrt.so (cmake/libacrt.c.in) with
# one ACRT_STUB(name) per ACRT_API function declared in include/acrt/acrt.h.
# Run by the build: cmake -DHEADER=acrt.h -DTEMPLATE=libacrt.c.in -DOUT=libacrt.c
#                         -DACRT_ABI_MAJOR=N -P gen_libacrt.cmake
cmake_minimum_required(VERSION 3.18)
file(READ "${HEADER}" text)
# Comments may mention ACRT_API; only declarations count. Drop /* ... */ blocks
# (CMake regexes are greedy, so strip them one at a time).
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
string(REGEX REPLACE "//[^\n]*" "" text "${text}")
string(REGEX MATCHALL "ACRT_API[^;(]*\\(" decls "${text}")
set(stubs "")
set(seen "")
foreach(d IN LISTS decls)
  string(REGEX MATCH "([A-Za-z_][A-Za-z0-9_]*)[ \t\n]*\\($" _ "${d}")
  set(name "${CMAKE_MATCH_1}")
  if(name MATCHES "^acrt_" AND NOT name IN_LIST seen)
    list(APPEND seen "${name}")
    string(APPEND stubs "ACRT_STUB(${name})\n")
  endif()
endforeach()
list(LENGTH seen n)
if(n LESS 10)
  message(FATAL_ERROR "gen_libacrt: only ${n} ACRT_API functions found in ${HEADER}")
endif()
set(ACRT_STUBS "${stubs}")
# configure_file rewrites OUT only when it changes: an edit of acrt.h's comments
# recompiles nothing.
configure_file("${TEMPLATE}" "${OUT}" @ONLY)
