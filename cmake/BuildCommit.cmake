# Writes the commit the library is built from into a small header (#define LAGVK_BUILD_COMMIT "..."), run
# at every build by api/CMakeLists.txt's lagvk_build_commit target. The file is rewritten only when its
# text changes, so version.cpp recompiles after a new commit (a configure-time value would go stale) and
# at no other time. "unknown" when the source is not a git checkout of its own (a tarball, even one
# unpacked inside another repository).
# Arguments: -DSOURCE_DIR=<the project's source> -DOUTPUT=<header to write>.
set(commit "unknown")
find_program(GIT git)
if(GIT)
  execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} rev-parse --show-toplevel --short=12 HEAD
                  OUTPUT_VARIABLE out RESULT_VARIABLE status ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(status EQUAL 0)
    string(REPLACE "\n" ";" out "${out}")
    list(GET out 0 toplevel)
    list(GET out 1 head)
    file(REAL_PATH ${SOURCE_DIR} source_real)
    file(REAL_PATH ${toplevel} toplevel_real)
    if(source_real STREQUAL toplevel_real)
      set(commit ${head})
    endif()
  endif()
endif()
set(text "#define LAGVK_BUILD_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUTPUT} "${text}")
endif()
