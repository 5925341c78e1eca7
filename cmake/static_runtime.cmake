# The static runtime of the deploy binary. An executable whose target property HEMO_STATIC_RUNTIME
# is ON (set by hemo_static_runtime(TARGET)) links libgomp and libturbojpeg from their static
# archives, and libstdc++ and libgcc statically, so that at run time it needs only the C library's
# own files (libc, libm, the dynamic loader). Every other target links them as shared libraries.
# The choice is read from the executable being linked ($<TARGET_PROPERTY:HEMO_STATIC_RUNTIME> in a
# usage requirement names the consuming target), so the libraries themselves are compiled once.
set(HEMO_STATIC_RUNTIME_IF $<BOOL:$<TARGET_PROPERTY:HEMO_STATIC_RUNTIME>>)

# hemo_openmp: what the CPU kernels link for OpenMP (-fopenmp; libgomp shared or static).
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libgomp.a
                OUTPUT_VARIABLE HEMO_GOMP_STATIC_LIBRARY OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT IS_ABSOLUTE "${HEMO_GOMP_STATIC_LIBRARY}" OR NOT EXISTS "${HEMO_GOMP_STATIC_LIBRARY}")
  message(WARNING "hemo: libgomp.a not found (${CMAKE_CXX_COMPILER} -print-file-name=libgomp.a); "
                  "hemo-infer-cpu will need libgomp.so at run time")
  set(HEMO_GOMP_STATIC_LIBRARY "")
endif()
add_library(hemo_openmp INTERFACE)
target_compile_options(hemo_openmp INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${OpenMP_CXX_FLAGS}>)
if(HEMO_GOMP_STATIC_LIBRARY)
  target_link_libraries(hemo_openmp INTERFACE $<${HEMO_STATIC_RUNTIME_IF}:${HEMO_GOMP_STATIC_LIBRARY}>
                                              $<$<NOT:${HEMO_STATIC_RUNTIME_IF}>:OpenMP::OpenMP_CXX>)
else()
  target_link_libraries(hemo_openmp INTERFACE OpenMP::OpenMP_CXX)
endif()

# Makes `target` (an executable) link the static runtime, keeping only the code it reaches.
function(hemo_static_runtime target)
  set_target_properties(${target} PROPERTIES HEMO_STATIC_RUNTIME ON)
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc -Wl,--gc-sections)
endfunction()
