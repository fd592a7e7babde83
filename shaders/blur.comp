#version 430
// examples/blur: a Gaussian blur of one tile of an RGBA8 image. The input
// is the tile with a halo of `radius` pixels on each side (prep clamps it
// at the image's edges), so the kernel needs no bounds logic.
//   params[0] tile width   params[1] tile height   params[2] radius
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
	vec4 acc = vec4(0.0);
	for (uint dy = 0u; dy <= 2u * r; dy++) {
		for (uint dx = 0u; dx <= 2u * r; dx++) {
			uint px = src[(p.y + dy) * stride + p.x + dx];
			acc += w[dy] * w[dx] * unpackUnorm4x8(px);
		}
	}
	dst[p.y * tw + p.x] = packUnorm4x8(acc);
}
