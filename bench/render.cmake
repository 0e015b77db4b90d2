# Renderer benchmark (bench/render.cpp): host CPU time and CPU bytes per frame
# for the import and staging copy paths, as ratios to memcpy of the frame.
add_executable(porthole-bench-render ${CMAKE_CURRENT_LIST_DIR}/render.cpp)
target_link_libraries(porthole-bench-render PRIVATE porthole_render porthole_display porthole_app
  porthole_ivshmem porthole_protocol fmt::fmt porthole_warnings)
