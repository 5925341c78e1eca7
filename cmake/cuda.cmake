# Decides whether the CUDA backend is built. AUTO turns it on when a CUDA compiler is found and
# says so either way; ON fails loudly without one; OFF never looks.
#
# cuDNN (dense convolutions on the GPU) is looked for separately, because the CUDA toolkit does
# not ship it: in the toolkit's own folders, under CUDNN_ROOT (a CMake or environment variable,
# e.g. a PyTorch install's site-packages/nvidia/cudnn), or in the system's. HEMO_CUDNN decides
# what its absence means:
#   AUTO (default)  build without it, say so loudly here; a dense convolution on a CUDA tensor
#                   then throws an Error naming the missing library (never a silent CPU fallback).
#                   Everything else on the GPU (cuBLAS, the hand-written kernels) still works.
#   ON              configuring fails without cuDNN 9 (the GPU check script sets this).
#   OFF             never look.
# AUTO is the default so that a machine with the toolkit and no cuDNN (a CI image) still compiles
# and tests every other piece of CUDA code.
set(HEMO_WITH_CUDA OFF)
set(HEMO_WITH_CUDNN OFF)
set(HEMO_CUDA_EMULATED OFF)
if(HEMO_CUDA STREQUAL "EMULATE")
  include(${CMAKE_CURRENT_LIST_DIR}/emulate.cmake)
  return()
endif()
set(HEMO_CUDNN AUTO CACHE STRING "cuDNN for dense CUDA convolutions: AUTO, ON or OFF")
set_property(CACHE HEMO_CUDNN PROPERTY STRINGS AUTO ON OFF)
set(CUDNN_ROOT "" CACHE PATH "Folder holding cuDNN 9 (include/cudnn.h and lib/libcudnn.so*)")

if(NOT HEMO_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    # .cu files are C++20 like the rest. CMake 3.25 does not know nvcc's flag for it; teach it.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION OR CMAKE_CUDA20_STANDARD_COMPILE_OPTION STREQUAL "")
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(HEMO_WITH_CUDA ON)
    message(STATUS "hemo: CUDA backend ON (${CMAKE_CUDA_COMPILER}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(HEMO_CUDA STREQUAL "ON")
    message(FATAL_ERROR "hemo: HEMO_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER or use -DHEMO_CUDA=OFF)")
  else()
    message(STATUS "hemo: CUDA backend OFF (no CUDA compiler found; HEMO_CUDA=AUTO)")
  endif()
else()
  message(STATUS "hemo: CUDA backend OFF (HEMO_CUDA=OFF)")
endif()

if(HEMO_WITH_CUDA AND NOT HEMO_CUDNN STREQUAL "OFF")
  # PyTorch's CUDA wheels install cuDNN as site-packages/nvidia/cudnn/{include,lib} (lib holding only
  # libcudnn.so.9): ask the python on PATH where its nvidia.cudnn is, and look in the usual
  # site-packages folders too (a venv under /opt, the user's). None of this is required: under AUTO
  # a miss is a warning. CUDNN_ROOT comes first, then the wheels (the cuDNN PyTorch itself uses, so
  # that tools/gpu/bench.py compares like with like), then the toolkit's folders and the system.
  set(_hemo_cudnn_wheels "")
  find_program(HEMO_PYTHON3 NAMES python3 python DOC "Python asked where PyTorch's cuDNN wheel is")
  if(HEMO_PYTHON3)
    execute_process(COMMAND ${HEMO_PYTHON3} -c "import nvidia.cudnn as m; print(';'.join(m.__path__))"
                    OUTPUT_VARIABLE _hemo_cudnn_py OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                    RESULT_VARIABLE _hemo_cudnn_rc TIMEOUT 20)
    if(_hemo_cudnn_rc EQUAL 0 AND _hemo_cudnn_py)
      list(APPEND _hemo_cudnn_wheels ${_hemo_cudnn_py})
    endif()
  endif()
  set(_hemo_site_dirs /usr/lib/python3*/site-packages /usr/lib/python3*/dist-packages
      /usr/local/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages
      /opt/*/lib/python3*/site-packages /opt/*/.venv/lib/python3*/site-packages)
  if(DEFINED ENV{HOME})
    list(APPEND _hemo_site_dirs $ENV{HOME}/.local/lib/python3*/site-packages)
  endif()
  foreach(_d IN LISTS _hemo_site_dirs)
    file(GLOB _hemo_found LIST_DIRECTORIES true ${_d}/nvidia/cudnn ${_d}/nvidia/cu[0-9]*)
    list(APPEND _hemo_cudnn_wheels ${_hemo_found})
  endforeach()
  list(REMOVE_DUPLICATES _hemo_cudnn_wheels)
  set(_hemo_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${_hemo_cudnn_wheels} ${CUDAToolkit_LIBRARY_ROOT}
      ${CUDAToolkit_TARGET_DIR})
  # A search is cached; a later configure with other places to look (another CUDNN_ROOT, a wheel
  # installed since) searches again instead of keeping the old answer.
  if(DEFINED HEMO_CUDNN_SEARCHED AND NOT "${_hemo_cudnn_hints}" STREQUAL "${HEMO_CUDNN_SEARCHED}")
    unset(HEMO_CUDNN_INCLUDE_DIR CACHE)
    unset(HEMO_CUDNN_LIBRARY CACHE)
  endif()
  set(HEMO_CUDNN_SEARCHED "${_hemo_cudnn_hints}" CACHE INTERNAL "Where the last cuDNN search looked")
  find_path(HEMO_CUDNN_INCLUDE_DIR cudnn_version.h
            HINTS ${_hemo_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES include)
  # Python wheels ship only the versioned name (libcudnn.so.9), hence the second name; NAMES_PER_DIR
  # takes both names in each folder before the next, so the library comes from the same install
  # as the headers (CUDNN_ROOT first), not from a toolkit folder that has the unversioned name.
  # The folder above the headers comes first, so that headers and library are of one install.
  set(_hemo_cudnn_lib_hints ${_hemo_cudnn_hints})
  if(HEMO_CUDNN_INCLUDE_DIR)
    get_filename_component(_hemo_cudnn_home "${HEMO_CUDNN_INCLUDE_DIR}" DIRECTORY)
    list(PREPEND _hemo_cudnn_lib_hints ${_hemo_cudnn_home})
  endif()
  find_library(HEMO_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR
               HINTS ${_hemo_cudnn_lib_hints} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu)
  set(_hemo_cudnn_why "")
  if(NOT HEMO_CUDNN_INCLUDE_DIR OR NOT HEMO_CUDNN_LIBRARY)
    set(_hemo_cudnn_why "cudnn_version.h or libcudnn not found (looked under CUDNN_ROOT='${CUDNN_ROOT}', the CUDA toolkit, Python's nvidia/cudnn wheels and the system)")
  else()
    file(STRINGS ${HEMO_CUDNN_INCLUDE_DIR}/cudnn_version.h _hemo_cudnn_major REGEX "^#define CUDNN_MAJOR [0-9]+")
    string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _hemo_cudnn_major "${_hemo_cudnn_major}")
    if(NOT _hemo_cudnn_major STREQUAL "9")
      set(_hemo_cudnn_why "found cuDNN major version '${_hemo_cudnn_major}' in ${HEMO_CUDNN_INCLUDE_DIR}, need 9")
    endif()
  endif()
  if(_hemo_cudnn_why STREQUAL "")
    set(HEMO_WITH_CUDNN ON)
    message(STATUS "hemo: cuDNN 9 found: ${HEMO_CUDNN_LIBRARY} (headers ${HEMO_CUDNN_INCLUDE_DIR})")
  elseif(HEMO_CUDNN STREQUAL "ON")
    message(FATAL_ERROR "hemo: HEMO_CUDNN=ON but ${_hemo_cudnn_why}. Pass -DCUDNN_ROOT=<folder with include/ and lib/>.")
  else()
    message(STATUS "hemo: cuDNN absent: ${_hemo_cudnn_why}")
    message(WARNING "hemo: building the CUDA backend WITHOUT cuDNN: ${_hemo_cudnn_why}. Dense convolutions on "
                    "CUDA tensors will throw an error at run time. Pass -DCUDNN_ROOT=<folder> to use it.")
  endif()
endif()
