# bench/input: latency of input from the read of an evdev event to the event
# available to the guest agent, through the region ring and through QMP.
add_executable(porthole-bench-input ${CMAKE_CURRENT_LIST_DIR}/input.cpp)
target_link_libraries(porthole-bench-input PRIVATE porthole_client_input porthole_client_qmp porthole_protocol
  porthole_util Threads::Threads porthole_warnings)
