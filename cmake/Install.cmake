# What `cmake --install build --prefix P` installs: the public headers (include/lagvk/lagvk.h and the C++
# header beside it), liblagvk.so with its SONAME links (and liblagvk.a with LAGVK_STATIC_LIBRARY), the lagvk
# CLI with its assets (tools/CMakeLists.txt), the CMake package (find_package(lagvk 0.2 CONFIG) gives
# lagvk::lagvk) and lagvk.pc. Nothing internal: no engine header, no internal archive. Every file is
# found relative to P, so the prefix may be moved. tests/install/check_install.sh builds examples/ against
# such a prefix; `cpack -G DEB` in the build directory packs the same files as a Debian package.
include(CMakePackageConfigHelpers)

set(LAGVK_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lagvk)
set(lagvk_libraries lagvk)
if(LAGVK_STATIC_LIBRARY)
  list(APPEND lagvk_libraries lagvk_static)
endif()
install(TARGETS ${lagvk_libraries} EXPORT lagvkTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lagvk DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# The CMake package. Before 1.0 a minor version breaks the ABI (the SONAME is MAJOR.MINOR), so 0.2 is
# satisfied by 0.2.x only.
install(EXPORT lagvkTargets NAMESPACE lagvk:: DESTINATION ${LAGVK_CMAKE_PACKAGE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lagvkConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/package/lagvkConfig.cmake
                              INSTALL_DESTINATION ${LAGVK_CMAKE_PACKAGE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/lagvkConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/lagvkConfig.cmake ${PROJECT_BINARY_DIR}/package/lagvkConfigVersion.cmake
        DESTINATION ${LAGVK_CMAKE_PACKAGE_DIR})

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), since
# `cmake --install --prefix P` chooses P after this file is written.
file(RELATIVE_PATH LAGVK_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" LAGVK_PC_TO_PREFIX "${LAGVK_PC_TO_PREFIX}")
list(TRANSFORM LAGVK_STATIC_SYSTEM_LIBRARIES PREPEND "-l" OUTPUT_VARIABLE LAGVK_PC_LIBS_PRIVATE)
list(JOIN LAGVK_PC_LIBS_PRIVATE " " LAGVK_PC_LIBS_PRIVATE)
configure_file(${PROJECT_SOURCE_DIR}/cmake/lagvk.pc.in ${PROJECT_BINARY_DIR}/package/lagvk.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/lagvk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# `cpack -G DEB` (run in the build directory): a Debian package of the files above, installed under /usr.
set(CPACK_PACKAGE_NAME lagvk)
set(CPACK_PACKAGE_VENDOR lagvk)
set(CPACK_PACKAGE_CONTACT "lagvk maintainers <lagvk@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Vulkan LLM engine with Log-Augmented Generation: library, headers and CLI")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
# The package's dependencies (Vulkan loader, LMDB, xxHash, fmt, the C++ runtime) from its binaries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
