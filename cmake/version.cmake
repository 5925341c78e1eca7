# The one place hemo's version lives is project(hemo VERSION ...) in the top CMakeLists.txt. This
# file turns it into the public header hemo/version.h (configure time: the numbers) and, at every
# build, into the generated hemo/commit.h that holds the source's git commit (`hemo --version`
# prints both). The commit comes from `git describe`-like output of the checkout, with "-dirty"
# when tracked files differ from it; without git (a source tarball) from the HEMO_GIT_COMMIT
# environment variable, else "unknown". commit.h is rewritten only when its text changes, so a
# build that changes nothing recompiles nothing.
set(HEMO_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/generated/include)
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in ${HEMO_GENERATED_INCLUDE_DIR}/hemo/version.h @ONLY)
add_custom_target(hemo_commit_header
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT=${HEMO_GENERATED_INCLUDE_DIR}/hemo/commit.h -P ${CMAKE_CURRENT_LIST_DIR}/commit_header.cmake
  BYPRODUCTS ${HEMO_GENERATED_INCLUDE_DIR}/hemo/commit.h
  COMMENT "hemo: git commit -> hemo/commit.h" VERBATIM)
