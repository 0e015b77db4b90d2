#version 450
// A quad covering the current viewport (drawn as a 4-vertex triangle strip),
// with texture coordinates 0..1 so that at 1:1 every fragment samples a texel
// centre exactly.
layout(location = 0) out vec2 uv;

void main() {
    vec2 p = vec2(float(gl_VertexIndex & 1), float((gl_VertexIndex >> 1) & 1));
    uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
