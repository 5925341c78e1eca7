# What `cmake --install build --prefix P` puts where, the CMake package that find_package(hemo)
# reads, and the Debian package CPack builds from the same rules (`cpack -G DEB` in the build
# folder: hemo_<version>_amd64.deb, installing under /usr).
#   P/bin/                 hemo, hemo-infer, hemo-infer-cpu
#   P/include/hemo/        the public API (api/include/hemo/*.h and the generated version.h)
#   P/lib/hemo/            the static libraries behind it
#   P/lib/cmake/hemo/      hemoConfig.cmake, hemoConfigVersion.cmake
#   P/share/hemo/          docs (README, docs/*.md), weights/ (the shipped models, their split
#                          manifest and MODELS.md, found there by weights/shipped.h; how to fetch
#                          and convert ImageNet weights), examples/embed
#
# The package's imported targets (cmake/hemoConfig.cmake.in):
#   hemo::infer  the API over the CPU-only build of the libraries (the _cpu twins that
#                hemo-infer-cpu is built from): never needs CUDA.
#   hemo::hemo   the same API over the libraries `hemo` links, with the CUDA backend when this
#                build has it (then find_package(hemo COMPONENTS CUDA) succeeds and hemo::hemo
#                needs the CUDA toolkit's cudart and cublas, and cuDNN when built with it).
# The libraries are static archives, installed as files and listed in link order in the config
# file; their own dependencies are OpenMP, TurboJPEG and threads (found again by the config).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HEMO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/hemo)
set(HEMO_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR}/hemo)
set(HEMO_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/hemo)

# Link order: users before what they use.
set(hemo_infer_libs hemo_api_cpu hemo_models_cpu hemo_data_cpu hemo_weights_cpu hemo_nn_cpu hemo_tensor_cpu
    hemo_kernels_cpu hemo_core_cpu)
set(hemo_full_libs hemo_api hemo_models hemo_data hemo_weights hemo_nn hemo_tensor hemo_kernels hemo_core)

# Archive file names for the config file, and the (de-aliased) targets to install.
set(hemo_install_targets "")
foreach(kind infer full)
  set(HEMO_CONFIG_${kind}_ARCHIVES "")
  foreach(lib IN LISTS hemo_${kind}_libs)
    get_target_property(real ${lib} ALIASED_TARGET)
    if(NOT real)
      set(real ${lib})
    endif()
    list(APPEND HEMO_CONFIG_${kind}_ARCHIVES ${CMAKE_STATIC_LIBRARY_PREFIX}${real}${CMAKE_STATIC_LIBRARY_SUFFIX})
    list(APPEND hemo_install_targets ${real})
  endforeach()
endforeach()
list(REMOVE_DUPLICATES hemo_install_targets)

install(TARGETS hemo hemo-infer hemo-infer-cpu RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${hemo_install_targets} ARCHIVE DESTINATION ${HEMO_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/api/include/hemo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${HEMO_GENERATED_INCLUDE_DIR}/hemo/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hemo)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${HEMO_INSTALL_DATADIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${HEMO_INSTALL_DATADIR}/docs FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/weights/ DESTINATION ${HEMO_INSTALL_DATADIR}/weights
        FILES_MATCHING PATTERN "*.md" PATTERN "*.sh" PATTERN "*.safetensors" PATTERN "*.csv")
install(FILES ${PROJECT_SOURCE_DIR}/tools/convert_torchvision.py DESTINATION ${HEMO_INSTALL_DATADIR}/weights)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/embed DESTINATION ${HEMO_INSTALL_DATADIR}/examples
        PATTERN "build*" EXCLUDE)

# An emulation build (-DHEMO_CUDA=EMULATE) runs its CUDA code on the CPU: no CUDA library to find.
set(HEMO_CONFIG_WITH_CUDA ${HEMO_WITH_CUDA})
if(HEMO_CUDA_EMULATED)
  set(HEMO_CONFIG_WITH_CUDA OFF)
endif()
set(HEMO_CONFIG_CUDNN_LIBRARY "")
if(HEMO_WITH_CUDNN AND NOT HEMO_CUDA_EMULATED)
  set(HEMO_CONFIG_CUDNN_LIBRARY ${HEMO_CUDNN_LIBRARY})
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hemoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/generated/hemoConfig.cmake INSTALL_DESTINATION ${HEMO_INSTALL_CMAKEDIR}
  PATH_VARS HEMO_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/generated/hemoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/generated/hemoConfig.cmake ${PROJECT_BINARY_DIR}/generated/hemoConfigVersion.cmake
        DESTINATION ${HEMO_INSTALL_CMAKEDIR})

# ---- CPack: the Debian package ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hemo)
set(CPACK_PACKAGE_VENDOR "hemo")
set(CPACK_PACKAGE_CONTACT "hemo maintainers <hemo@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "CNN classifiers of blood-cell microscopy images: CLI, deploy binary, C++ library")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # hemo_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# Depends: the binaries' shared libraries, found by dpkg-shlibdeps (libturbojpeg0, libgomp1,
# libprotobuf, libstdc++6, libc6): the same ones the static libraries need when a program links
# them through find_package(hemo) (hemoConfig.cmake finds libturbojpeg.so.0 itself).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, g++")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
include(CPack)
