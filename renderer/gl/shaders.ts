/**
 * GLSL (WebGL 1) for the plot layers. Density: a textured quad (the shaded grid, uploaded in grid
 * order so texture row 0 = lowest y), placed by a rectangle in clip space so a previous image can
 * be shown rescaled. Points: one draw call of gl.POINTS; positions are float32 offsets from an
 * origin near the data (precision), mapped to clip space by a scale/offset uniform; colour from a
 * 256x1 LUT texture (continuous) or palette texture (categories). Lines: triangles (or a line
 * strip) in device pixels (whole numbers: linespans.ts), one premultiplied colour per call.
 */
export const DENSITY_VS = `
attribute vec2 a_pos;
uniform vec4 u_rect; // left, bottom, right, top in clip space
varying vec2 v_uv;
void main() {
  v_uv = a_pos;
  gl_Position = vec4(mix(u_rect.x, u_rect.z, a_pos.x), mix(u_rect.y, u_rect.w, a_pos.y), 0.0, 1.0);
}`;

export const DENSITY_FS = `
precision mediump float;
uniform sampler2D u_tex;
uniform float u_alpha;
varying vec2 v_uv;
void main() {
  vec4 c = texture2D(u_tex, v_uv);
  gl_FragColor = vec4(c.rgb * c.a, c.a) * u_alpha;
}`;

export const POINTS_VS = `
attribute float a_x;
attribute float a_y;
attribute float a_c;
uniform vec4 u_xform; // sx, ox, sy, oy: clip = a * s + o
uniform float u_size;
uniform float u_ncat; // 0: continuous (a_c in 0..1), else number of palette entries
varying float v_c;
void main() {
  gl_Position = vec4(a_x * u_xform.x + u_xform.y, a_y * u_xform.z + u_xform.w, 0.0, 1.0);
  gl_PointSize = u_size;
  v_c = u_ncat > 0.0 ? (a_c + 0.5) / u_ncat : a_c;
}`;

export const POINTS_FS = `
precision mediump float;
uniform sampler2D u_lut;
uniform float u_opacity;
uniform float u_round;
varying float v_c;
void main() {
  if (u_round > 0.5) {
    vec2 d = gl_PointCoord - vec2(0.5);
    if (dot(d, d) > 0.25) discard;
  }
  vec4 c = texture2D(u_lut, vec2(clamp(v_c, 0.0, 1.0), 0.5));
  gl_FragColor = vec4(c.rgb * u_opacity, u_opacity);
}`;

export const LINE_VS = `
attribute vec2 a_pos;
uniform vec2 u_size; // the drawing buffer in device pixels
void main() {
  gl_Position = vec4(a_pos / u_size * 2.0 - 1.0, 0.0, 1.0);
}`;

export const LINE_FS = `
precision mediump float;
uniform vec4 u_color; // premultiplied
void main() {
  gl_FragColor = u_color;
}`;
