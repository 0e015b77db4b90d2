# Compiles the GLSL sources to SPIR-V with glslc at build time and embeds them
# as uint32 initializer lists (<name>.spv.inc) under ${PORTHOLE_SHADER_DIR}.
find_program(GLSLC glslc REQUIRED)
set(PORTHOLE_SHADER_DIR ${CMAKE_BINARY_DIR}/generated/shaders)
file(MAKE_DIRECTORY ${PORTHOLE_SHADER_DIR})
set(PORTHOLE_SHADER_OUTPUTS)
foreach(src quad.vert textured.frag)
  set(in ${CMAKE_CURRENT_LIST_DIR}/${src})
  set(out ${PORTHOLE_SHADER_DIR}/${src}.spv.inc)
  add_custom_command(OUTPUT ${out}
    COMMAND ${GLSLC} --target-env=vulkan1.2 -O -mfmt=num -o ${out} ${in}
    DEPENDS ${in}
    COMMENT "glslc ${src}")
  list(APPEND PORTHOLE_SHADER_OUTPUTS ${out})
endforeach()
add_custom_target(porthole_shaders DEPENDS ${PORTHOLE_SHADER_OUTPUTS})
