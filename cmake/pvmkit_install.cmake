include(CMakePackageConfigHelpers)
set(_cfgdir "${CMAKE_INSTALL_LIBDIR}/cmake/pvmkit")

install(DIRECTORY include/pvmkit DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# One export set per component, so find_package(pvmkit) without COMPONENTS needs only range-v3.
install(TARGETS pvmkit EXPORT pvmkit-targets)
install(EXPORT pvmkit-targets NAMESPACE pvmkit:: DESTINATION "${_cfgdir}")
install(TARGETS pvmkit_hwloc EXPORT pvmkit-hwloc-targets)
install(EXPORT pvmkit-hwloc-targets NAMESPACE pvmkit:: DESTINATION "${_cfgdir}")
if(PVMKIT_HAVE_XEN)
  install(TARGETS pvmkit_xen EXPORT pvmkit-xen-targets)
  install(EXPORT pvmkit-xen-targets NAMESPACE pvmkit:: DESTINATION "${_cfgdir}")
endif()

if(PVMKIT_HAVE_LIBVIRT)
  install(TARGETS pvmkit_libvirt EXPORT pvmkit-libvirt-targets)
  install(EXPORT pvmkit-libvirt-targets NAMESPACE pvmkit:: DESTINATION "${_cfgdir}")
endif()

configure_package_config_file(cmake/pvmkitConfig.cmake.in "${PROJECT_BINARY_DIR}/pvmkitConfig.cmake"
  INSTALL_DESTINATION "${_cfgdir}")
# Header-only, so the package fits any architecture.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/pvmkitConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/pvmkitConfig.cmake" "${PROJECT_BINARY_DIR}/pvmkitConfigVersion.cmake"
  cmake/pvmkit_find_xen.cmake DESTINATION "${_cfgdir}")

configure_file(cmake/pvmkit.pc.in "${PROJECT_BINARY_DIR}/pvmkit.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/pvmkit.pc" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/pkgconfig")
