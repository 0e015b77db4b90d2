# porthole-agent.exe's version resource and application manifest, compiled
# with windres into the program (windows preset only).
enable_language(RC)
set(PORTHOLE_VERSION_QUAD "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}.${PROJECT_VERSION_PATCH}.0")
set(_res ${CMAKE_CURRENT_BINARY_DIR}/resources)
set(PORTHOLE_AGENT_MANIFEST ${_res}/porthole-agent.manifest)
configure_file(${CMAKE_CURRENT_LIST_DIR}/porthole-agent.manifest ${PORTHOLE_AGENT_MANIFEST} @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/porthole-agent.rc.in ${_res}/porthole-agent.rc @ONLY)
target_sources(porthole-agent PRIVATE ${_res}/porthole-agent.rc)
set_source_files_properties(${_res}/porthole-agent.rc PROPERTIES OBJECT_DEPENDS ${PORTHOLE_AGENT_MANIFEST})
