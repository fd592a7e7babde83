#version 430
// Test kernel: y[i] = x[i] * w[i % wn] + tag, in wrapping uint32
// arithmetic so that a CPU reference matches it bit for bit. Each output
// also carries the item's tag and element count, so an output delivered
// for the wrong item, or left over from an earlier one, is caught.
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Input { uint x[]; };
layout(std430, binding = 1) readonly buffer Weights { uint w[]; };
layout(std430, binding = 2) writeonly buffer Output {
	uint tag;
	uint count;
	uint y[];
};
// params[0] = tag, params[1] = elements, params[2] = weight count
layout(std430, binding = 3) readonly buffer Params { uint params[8]; };

void main()
{
	uint i = gl_GlobalInvocationID.x;
	uint n = params[1];

	if (i == 0u) {
		tag = params[0];
		count = n;
	}
	if (i < n)
		y[i] = x[i] * w[i % params[2]] + params[0];
}
