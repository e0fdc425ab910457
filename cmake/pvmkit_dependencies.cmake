# Finds what the targets need. Kept in one place so the package config repeats the same calls.
find_package(range-v3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)

set(PVMKIT_HAVE_XEN OFF)
if(NOT PVMKIT_WITH_XEN STREQUAL "OFF")
  include(pvmkit_find_xen)
  if(TARGET PvmkitXen::libs)
    set(PVMKIT_HAVE_XEN ON)
  elseif(PVMKIT_WITH_XEN STREQUAL "ON")
    message(FATAL_ERROR "PVMKIT_WITH_XEN=ON but libxen (xenlight, xenctrl, xentoollog) was not found: apt-get install libxen-dev")
  endif()
endif()
