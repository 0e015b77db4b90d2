#version 450
// Samples the bound texture. Modes: 0 as is (cursor, text; alpha blended by
// the pipeline), 1 opaque SDR frame, 2 HDR frame (scRGB linear, tone-mapped
// to SDR and sRGB-encoded). srgb_target: the target re-encodes to sRGB, so
// the already encoded values are written linear.
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 color;
layout(set = 0, binding = 0) uniform sampler2D tex;
layout(push_constant) uniform Params {
    uint mode;
    uint srgb_target;
} params;

vec3 srgb_encode(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(vec3(0.0031308), c));
}

vec3 srgb_decode(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}

// Extended Reinhard on luminance: SDR white (1.0) stays near white, highlights
// up to `white` compress smoothly instead of clipping.
vec3 tone_map(vec3 c) {
    const float white = 4.0;
    c = max(c, vec3(0.0));
    float l = dot(c, vec3(0.2126, 0.7152, 0.0722));
    if (l <= 0.0) return vec3(0.0);
    float mapped = l * (1.0 + l / (white * white)) / (1.0 + l);
    return c * (mapped / l);
}

void main() {
    vec4 s = texture(tex, uv);
    if (params.mode == 1u) {
        s.a = 1.0;
    } else if (params.mode == 2u) {
        s = vec4(srgb_encode(tone_map(s.rgb)), 1.0);
    }
    if (params.srgb_target == 1u) s.rgb = srgb_decode(s.rgb);
    color = s;
}
