#version 430
// gpupipe-bench "sgemm": C = A * B for N x N float matrices, 16 x 16 tiles
// in shared memory. A is the item's input, B the shared weights, C the
// item's output after a 16-byte header.
//   params[0] tag   params[1] N (a multiple of 16)
//   params[3] 1: corrupt C[1][2]
layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, binding = 0) readonly buffer MatA { float a[]; };
layout(std430, binding = 1) readonly buffer MatB { float b[]; };
layout(std430, binding = 2) writeonly buffer MatC {
	uint tag;
	uint pad0, pad1, pad2;
	float c[];
};
layout(std430, binding = 3) readonly buffer Params { uint params[8]; };

shared float tile_a[16][16];
shared float tile_b[16][16];

void main()
{
	uint n = params[1];
	uint row = gl_GlobalInvocationID.y;
	uint col = gl_GlobalInvocationID.x;
	uint tx = gl_LocalInvocationID.x;
	uint ty = gl_LocalInvocationID.y;
	float acc = 0.0;

	for (uint t = 0u; t < n; t += 16u) {
		tile_a[ty][tx] = a[row * n + t + tx];
		tile_b[ty][tx] = b[(t + ty) * n + col];
		barrier();
		for (uint k = 0u; k < 16u; k++)
			acc += tile_a[ty][k] * tile_b[k][tx];
		barrier();
	}
	if (params[3] == 1u && row == 1u && col == 2u)
		acc += 1.0;
	c[row * n + col] = acc;
	if (row == 0u && col == 0u)
		tag = params[0];
}
