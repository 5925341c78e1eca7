# hemo_options: compile settings every hemo target links (warnings, sanitizers, CUDA switch).
add_library(hemo_options INTERFACE)
target_compile_options(hemo_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wno-unknown-pragmas>)
if(HEMO_WERROR)
  target_compile_options(hemo_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Werror>
    $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
endif()
if(HEMO_SANITIZE)
  target_compile_options(hemo_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${HEMO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(hemo_options INTERFACE -fsanitize=${HEMO_SANITIZE})
endif()
if(HEMO_WITH_CUDA)
  target_compile_definitions(hemo_options INTERFACE HEMO_WITH_CUDA=1)
  # Host code inside .cu files gets the same warnings as .cpp files.
  target_compile_options(hemo_options INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
else()
  target_compile_definitions(hemo_options INTERFACE HEMO_WITH_CUDA=0)
endif()
if(HEMO_WITH_CUDNN)
  target_compile_definitions(hemo_options INTERFACE HEMO_WITH_CUDNN=1)
else()
  target_compile_definitions(hemo_options INTERFACE HEMO_WITH_CUDNN=0)
endif()
target_include_directories(hemo_options INTERFACE ${PROJECT_SOURCE_DIR})

# hemo_library(NAME DIR DEPS...): a static library from DIR/*.cpp (and DIR/cuda/*.cu when CUDA
# is on). Globbing keeps parallel work from colliding in CMake files; CONFIGURE_DEPENDS re-globs.
function(hemo_library name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/cpu/*.cpp)
  if(HEMO_WITH_CUDA)
    file(GLOB cuda_srcs CONFIGURE_DEPENDS ${dir}/cuda/*.cu ${dir}/cuda/*.cpp)
    list(APPEND srcs ${cuda_srcs})
  endif()
  add_library(${name} STATIC ${srcs})
  target_link_libraries(${name} PUBLIC hemo_options ${ARGN})
endfunction()
