#version 430
#extension GL_ARB_shader_clock : require
// The affine test kernel (test_affine.comp), after spinning for
// params[3] rounds of params[4] shader-clock ticks: a kernel that keeps
// the GPU busy for as long as a test asks, then frees it. tests/
// test_timeout.c uses it to prove the fence timeout on a real GPU.
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Input { uint x[]; };
layout(std430, binding = 1) readonly buffer Weights { uint w[]; };
layout(std430, binding = 2) writeonly buffer Output {
	uint tag;
	uint count;
	uint y[];
};
// params[0] = tag, [1] = elements, [2] = weight count, [3] = rounds,
// [4] = ticks per round
layout(std430, binding = 3) readonly buffer Params { uint params[8]; };

void main()
{
	uint i = gl_GlobalInvocationID.x;
	uint n = params[1];

	for (uint r = 0u; r < params[3]; r++) {
		uint start = clock2x32ARB().x;

		// Unsigned difference: correct across one wrap of the clock.
		while (clock2x32ARB().x - start < params[4])
			;
	}
	if (i == 0u) {
		tag = params[0];
		count = n;
	}
	if (i < n)
		y[i] = x[i] * w[i % params[2]] + params[0];
}
