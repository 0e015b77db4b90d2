# Frame transport benchmark (bench/transport.cpp): publish/consume cost as a
# ratio to memcpy, notice latency and idle CPU of the waiting side.
add_executable(porthole-bench-transport ${CMAKE_CURRENT_LIST_DIR}/transport.cpp)
target_link_libraries(porthole-bench-transport PRIVATE porthole_protocol porthole_test_support
  fmt::fmt Threads::Threads porthole_warnings)
