# bench/input: latency of input from the read of an evdev event to the event
# available to the guest agent, through the region ring and through QMP; with
# --window-client PATH, window-mode keys into a real porthole while it renders.
find_package(nlohmann_json 3 REQUIRED)
add_executable(porthole-bench-input ${CMAKE_CURRENT_LIST_DIR}/input.cpp)
target_link_libraries(porthole-bench-input PRIVATE porthole_client_input porthole_client_qmp porthole_protocol
  porthole_util porthole_ivshmem fmt::fmt nlohmann_json::nlohmann_json Threads::Threads
  porthole_warnings)
