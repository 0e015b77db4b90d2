# cmake/write_version.cmake outside a git checkout (a release tarball): the
# revision is empty, a packager's PORTHOLE_GIT_REVISION wins, and an unchanged
# result leaves the file alone so nothing recompiles.
# In: SCRIPT (write_version.cmake), WORK (a scratch folder outside any git tree).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/src)
set(out ${WORK}/version.cpp)
set(ENV{GIT_CEILING_DIRECTORIES} ${WORK})

execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK}/src -DOUT=${out} -DVERSION=9.8.7
  -P ${SCRIPT} RESULT_VARIABLE rc)
file(READ ${out} text)
if(NOT rc EQUAL 0 OR NOT text MATCHES "return \"9\\.8\\.7\";" OR NOT text MATCHES "git_revision\\(\\) { return \"\"; }")
  message(FATAL_ERROR "without git: want version 9.8.7 and an empty revision, got:\n${text}")
endif()

file(TIMESTAMP ${out} before "%s")
execute_process(COMMAND ${CMAKE_COMMAND} -E sleep 1.1)
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK}/src -DOUT=${out} -DVERSION=9.8.7
  -P ${SCRIPT})
file(TIMESTAMP ${out} after "%s")
if(NOT before STREQUAL after)
  message(FATAL_ERROR "an unchanged version rewrote ${out} (${before} -> ${after})")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK}/src -DOUT=${out} -DVERSION=9.8.7
  -DREVISION=abc123 -P ${SCRIPT})
file(READ ${out} text)
if(NOT text MATCHES "git_revision\\(\\) { return \"abc123\"; }")
  message(FATAL_ERROR "the packager's revision was not used:\n${text}")
endif()
file(REMOVE_RECURSE ${WORK})
message(STATUS "PASS")
