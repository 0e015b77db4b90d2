# porthole-bench-capture: agent cost per frame vs memcpy (bench/capture.cpp).
# Included from bench/CMakeLists.txt. With the X11 backend it also drives an
# Xvfb through the test helpers of tests/integration/x11 (compiled in here).
add_executable(porthole-bench-capture ${CMAKE_CURRENT_LIST_DIR}/capture.cpp)
target_link_libraries(porthole-bench-capture PRIVATE porthole_agent_core porthole_protocol
  CLI11::CLI11 fmt::fmt porthole_test_support porthole_warnings)
if(TARGET PkgConfig::PORTHOLE_X11)
  set(_x11_helpers ${CMAKE_CURRENT_LIST_DIR}/../tests/integration/x11)
  target_sources(porthole-bench-capture PRIVATE ${_x11_helpers}/xvfb_server.cpp
    ${_x11_helpers}/x_painter.cpp)
  target_include_directories(porthole-bench-capture PRIVATE ${_x11_helpers})
  target_link_libraries(porthole-bench-capture PRIVATE PkgConfig::PORTHOLE_X11)
endif()
