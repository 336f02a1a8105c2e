# ctest's Library.BuildCommitIsHead: the built library's lagvk_build_commit() is the source tree's HEAD
# now (or "unknown" outside a git checkout), even after commits made since the build was configured.
# Arguments: -DVERSION_CHECK=<version_check program> -DSOURCE_DIR=<the project's source>.
set(expected "unknown")
execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse --short=12 HEAD OUTPUT_VARIABLE head RESULT_VARIABLE status
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(status EQUAL 0 AND EXISTS ${SOURCE_DIR}/.git)
  set(expected ${head})
endif()
execute_process(COMMAND ${VERSION_CHECK} OUTPUT_VARIABLE out RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT out MATCHES "commit ([^\n]*)")
  message(FATAL_ERROR "${VERSION_CHECK} failed (${status}): ${out}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL expected)
  message(FATAL_ERROR "lagvk_build_commit() is '${CMAKE_MATCH_1}' but ${SOURCE_DIR} is at '${expected}' "
                      "(rebuild after committing: the build regenerates the commit)")
endif()
message("lagvk_build_commit() is ${expected}, the source tree's HEAD")
