# X11 capture backend (Linux guests, tests under Xvfb). Included from
# guest-agent/CMakeLists.txt after porthole_agent_core is defined.
if(NOT WIN32 AND NOT PORTHOLE_STATIC)  # the static VM agent runs without X
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(PORTHOLE_X11 QUIET IMPORTED_TARGET GLOBAL x11 xext xdamage xfixes)
  endif()
  if(PORTHOLE_X11_FOUND)
    target_sources(porthole_agent_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/x11.cpp)
    target_compile_definitions(porthole_agent_core PUBLIC PORTHOLE_HAVE_X11)
    target_link_libraries(porthole_agent_core PRIVATE PkgConfig::PORTHOLE_X11)
    message(STATUS "porthole-agent: X11 capture enabled")
  else()
    message(STATUS "porthole-agent: X11 capture disabled (x11, xext, xdamage, xfixes not found)")
  endif()
endif()
