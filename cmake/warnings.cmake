# hemo_options: compile settings every hemo target links (warnings, sanitizers, CUDA switch).
# hemo_options_cpu: the same with the CUDA switch off, for the CPU-only twins of the libraries
# that the deploy binary hemo-infer-cpu is built from (see hemo_library below).
function(hemo_make_options target with_cuda with_cudnn)
  add_library(${target} INTERFACE)
  target_compile_options(${target} INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wno-unknown-pragmas>
    # One section per function and object, so that a binary linked with --gc-sections (hemo-infer-cpu)
    # keeps only the code it reaches.
    $<$<COMPILE_LANGUAGE:CXX>:-ffunction-sections -fdata-sections>)
  if(HEMO_WERROR)
    target_compile_options(${target} INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
  if(HEMO_FUZZ)  # coverage instrumentation for libFuzzer in every library the targets reach
    target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
  endif()
  if(HEMO_SANITIZE)
    target_compile_options(${target} INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${HEMO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
    target_link_options(${target} INTERFACE -fsanitize=${HEMO_SANITIZE})
  endif()
  if(with_cuda AND HEMO_CUDA_EMULATED)
    target_compile_definitions(${target} INTERFACE HEMO_WITH_CUDA=1 HEMO_CUDA_EMULATED=1)
    target_include_directories(${target} BEFORE INTERFACE ${PROJECT_SOURCE_DIR}/core/cuda/emu/include)
  elseif(with_cuda)
    target_compile_definitions(${target} INTERFACE HEMO_WITH_CUDA=1)
    # Host code inside .cu files gets the same warnings as .cpp files.
    target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  else()
    target_compile_definitions(${target} INTERFACE HEMO_WITH_CUDA=0)
  endif()
  if(with_cudnn)
    target_compile_definitions(${target} INTERFACE HEMO_WITH_CUDNN=1)
  else()
    target_compile_definitions(${target} INTERFACE HEMO_WITH_CUDNN=0)
  endif()
  target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
endfunction()
hemo_make_options(hemo_options ${HEMO_WITH_CUDA} ${HEMO_WITH_CUDNN})
if(HEMO_WITH_CUDA)
  hemo_make_options(hemo_options_cpu OFF OFF)
endif()

# hemo_library(NAME DIR [DEPLOY] DEPS...): a static library from DIR/*.cpp (and DIR/cuda/*.cu when
# CUDA is on). Globbing keeps parallel work from colliding in CMake files; CONFIGURE_DEPENDS re-globs.
#
# DEPLOY: hemo-infer-cpu is built from this library, so NAME_cpu exists too: in a build without
# CUDA it is NAME itself (an alias); with CUDA, a second compilation of the same CPU sources with
# HEMO_WITH_CUDA=0 and no .cu file, linking the _cpu twins of its hemo dependencies, so that
# nothing in it can reach a CUDA library. DEPS that are not hemo libraries are shared as they are.
function(hemo_library name dir)
  cmake_parse_arguments(PARSE_ARGV 2 L "DEPLOY" "" "")
  set(deps ${L_UNPARSED_ARGUMENTS})
  file(GLOB cpu_srcs CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/cpu/*.cpp)
  set(srcs ${cpu_srcs})
  if(HEMO_CUDA_EMULATED)
    # The .cu files as C++ against the emulator; the emulator replaces the cuBLAS/cuDNN call sites.
    file(GLOB cu_srcs CONFIGURE_DEPENDS ${dir}/cuda/*.cu)
    set_source_files_properties(${cu_srcs} PROPERTIES LANGUAGE CXX)
    file(GLOB cuda_srcs CONFIGURE_DEPENDS ${dir}/cuda/*.cpp ${dir}/cuda/emu/*.cpp)
    list(FILTER cuda_srcs EXCLUDE REGEX "/cuda/(blas|conv_cudnn|conv_cudnn_fused)\\.cpp$")
    list(APPEND srcs ${cu_srcs} ${cuda_srcs})
  elseif(HEMO_WITH_CUDA)
    file(GLOB cuda_srcs CONFIGURE_DEPENDS ${dir}/cuda/*.cu ${dir}/cuda/*.cpp)
    list(APPEND srcs ${cuda_srcs})
  endif()
  add_library(${name} STATIC ${srcs})
  target_link_libraries(${name} PUBLIC hemo_options ${deps})
  set_target_properties(${name} PROPERTIES HEMO_LIBRARY ON)
  if(NOT L_DEPLOY)
    return()
  endif()
  if(NOT HEMO_WITH_CUDA)
    add_library(${name}_cpu ALIAS ${name})
    return()
  endif()
  set(cpu_deps "")
  foreach(dep IN LISTS deps)
    set(is_hemo_lib OFF)
    if(TARGET ${dep})
      get_target_property(is_hemo_lib ${dep} HEMO_LIBRARY)
    endif()
    if(is_hemo_lib)
      if(NOT TARGET ${dep}_cpu)
        message(FATAL_ERROR "hemo_library(${name} DEPLOY): its dependency ${dep} is not a DEPLOY library")
      endif()
      list(APPEND cpu_deps ${dep}_cpu)
    else()
      list(APPEND cpu_deps ${dep})
    endif()
  endforeach()
  add_library(${name}_cpu STATIC ${cpu_srcs})
  target_link_libraries(${name}_cpu PUBLIC hemo_options_cpu ${cpu_deps})
endfunction()
