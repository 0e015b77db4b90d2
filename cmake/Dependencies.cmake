# Third-party dependencies, all from Debian packages (tools/setup installs them).
find_package(Threads REQUIRED)

if(WIN32)
  # MinGW has no Debian packages of these; Debian's header-only libraries are
  # target-independent, so expose just their folders (never all of /usr/include).
  set(_hdr ${CMAKE_BINARY_DIR}/host-headers)
  file(MAKE_DIRECTORY ${_hdr})
  foreach(d CLI fmt spdlog nlohmann)
    if(NOT EXISTS ${_hdr}/${d})
      file(CREATE_LINK /usr/include/${d} ${_hdr}/${d} SYMBOLIC)
    endif()
  endforeach()
  add_library(porthole_thirdparty_headers INTERFACE)
  target_include_directories(porthole_thirdparty_headers SYSTEM INTERFACE ${_hdr})
  target_compile_definitions(porthole_thirdparty_headers INTERFACE
    FMT_HEADER_ONLY SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL)
  add_library(CLI11::CLI11 ALIAS porthole_thirdparty_headers)
  add_library(fmt::fmt ALIAS porthole_thirdparty_headers)
  add_library(spdlog::spdlog ALIAS porthole_thirdparty_headers)

  # GoogleTest from Debian's source package, built for the target.
  set(gtest_force_shared_crt ON CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  add_library(GTest::gtest_main ALIAS gtest_main)
  add_library(GTest::gmock ALIAS gmock)
else()
  find_package(CLI11 CONFIG REQUIRED)
  find_package(fmt REQUIRED)
  find_package(spdlog REQUIRED)
  find_package(GTest REQUIRED)
  find_package(PkgConfig REQUIRED)
endif()
include(GoogleTest)
