#version 430
// examples/blur: a Gaussian blur of one tile of an RGBA8 image. The input
// is the tile with a halo of `radius` pixels on each side (prep clamps it
// at the image's edges), so the kernel needs no bounds logic.
//   params[0] tile width   params[1] tile height   params[2] radius
//
// The blur is in premultiplied alpha: a transparent pixel has no colour,
// so each colour weighs in by its alpha as well as by its Gaussian weight.
// Averaging straight RGBA would mix the black of a transparent background
// into the edges of white text and darken them. The sums of premultiplied
// colour and of alpha are blurred, and colour is divided back by alpha
// (0 where every pixel weighed is transparent). blur.c's cpu_pixel does
// the same, in the same order and with the same rounding.
layout(local_size_x = 8, local_size_y = 8) in;

layout(std430, binding = 0) readonly buffer Tile { uint src[]; };
layout(std430, binding = 1) readonly buffer Weights { float w[]; };
layout(std430, binding = 2) writeonly buffer Out { uint dst[]; };
layout(std430, binding = 3) readonly buffer Params { uint params[8]; };

void main()
{
	uint tw = params[0], th = params[1], r = params[2];
	uvec2 p = gl_GlobalInvocationID.xy;

	if (p.x >= tw || p.y >= th)
		return;
	uint stride = tw + 2u * r;
	vec4 acc = vec4(0.0); // premultiplied r, g, b; alpha
	for (uint dy = 0u; dy <= 2u * r; dy++) {
		for (uint dx = 0u; dx <= 2u * r; dx++) {
			vec4 c = unpackUnorm4x8(src[(p.y + dy) * stride +
						    p.x + dx]);
			float wa = w[dy] * w[dx] * c.a;

			acc += wa * vec4(c.rgb, 1.0);
		}
	}
	vec4 v = vec4(acc.a > 0.0 ? acc.rgb / acc.a : vec3(0.0), acc.a);
	// floor(x * 255 + 0.5), as on the CPU (packUnorm4x8's round() may
	// take either way at a half).
	uvec4 q = uvec4(floor(clamp(v, 0.0, 1.0) * 255.0 + 0.5));
	dst[p.y * tw + p.x] = q.r | q.g << 8u | q.b << 16u | q.a << 24u;
}
