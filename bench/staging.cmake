# porthole-bench-staging: the DXGI path's staging ring against one blocking
# texture (bench/staging.cpp). The ring's logic is portable C++, compiled in
# here from the Windows backend's folder; the duplication is modelled.
add_executable(porthole-bench-staging ${CMAKE_CURRENT_LIST_DIR}/staging.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../guest-agent/capture/win/staging_ring.cpp)
target_link_libraries(porthole-bench-staging PRIVATE porthole_agent_core porthole_protocol
  CLI11::CLI11 fmt::fmt Threads::Threads porthole_test_support porthole_warnings)
