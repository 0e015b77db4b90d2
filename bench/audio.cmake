# Audio playout benchmark (bench/audio.cpp): added latency (median, p99) and
# CPU per second of 48 kHz stereo audio of the latency-controlled playout,
# against a direct ring-to-stream copy measured in the same run.
add_executable(porthole-bench-audio ${CMAKE_CURRENT_LIST_DIR}/audio.cpp)
target_link_libraries(porthole-bench-audio PRIVATE porthole_client_audio porthole_agent_audio porthole_protocol
  porthole_pipewire_test_daemon fmt::fmt porthole_warnings)
# --arrivals: the arrival-pattern matrix, from the unit tests' simulation.
target_include_directories(porthole-bench-audio PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit/audio)
# --realtime: AudioPlayback through the audio tests' private PipeWire daemon
# (porthole_pipewire_test_daemon).
