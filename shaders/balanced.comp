#version 430
// gpupipe-bench "balanced": each invocation iterates an integer mixing
// step params[1] times, so the kernel's length is set at run time.
//   params[0] tag   params[1] iterations   params[2] elements
//   params[3] 1: corrupt element 5
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Input { uint x[]; };
layout(std430, binding = 2) writeonly buffer Output {
	uint tag;
	uint pad0, pad1, pad2;
	uint y[];
};
layout(std430, binding = 3) readonly buffer Params { uint params[8]; };

void main()
{
	uint i = gl_GlobalInvocationID.x;

	if (i >= params[2])
		return;
	uint v = x[i] ^ params[0];
	for (uint k = 0u; k < params[1]; k++)
		v = (v * 1664525u + 1013904223u) ^ (v >> 7);
	if (params[3] == 1u && i == 5u)
		v ^= 1u;
	y[i] = v;
	if (i == 0u)
		tag = params[0];
}
