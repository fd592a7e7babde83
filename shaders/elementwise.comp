#version 430
// gpupipe-bench "tiny" and "stream": one uint in, one uint out per
// invocation, a few integer operations each (exact, so a CPU reference
// matches bit for bit): y = mix(x) + tag, so every element depends on the
// item too.
//   params[0] tag, copied to the output header (catches stale outputs)
//   params[2] elements
//   params[3] 1: corrupt element 5 (the bench's self-test of its checks)
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
	uint v = x[i] * 2654435761u;
	v = (v ^ (v >> 13)) + params[0];
	if (params[3] == 1u && i == 5u)
		v ^= 1u;
	y[i] = v;
	if (i == 0u)
		tag = params[0];
}
