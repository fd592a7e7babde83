/* SPDX-License-Identifier: MIT */
/* Compile and link the compute shader; runs on the submit thread. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl.h"

#include "internal.h"

#define OUTPUT_BINDING 2

static int shader_log_error(GLuint obj, bool is_program, const char *what)
{
	char log[3072];
	GLsizei len = 0;

	log[0] = '\0';
	if (is_program)
		glGetProgramInfoLog(obj, sizeof(log), &len, log);
	else
		glGetShaderInfoLog(obj, sizeof(log), &len, log);
	while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' '))
		log[--len] = '\0';
	return gp_error(GPUPIPE_ESHADER, "compute shader failed to %s:\n%s",
			what, log[0] ? log : "(the driver gave no info log)");
}

/* The shader must write its output at binding 2; an output the driver
 * would not find there fails every item silently, so refuse it now. */
static int check_output_binding(GLuint program, size_t out_bytes)
{
	GLint nblocks = 0, i;

	glGetProgramInterfaceiv(program, GL_SHADER_STORAGE_BLOCK,
				GL_ACTIVE_RESOURCES, &nblocks);
	for (i = 0; i < nblocks; i++) {
		const GLenum props[] = { GL_BUFFER_BINDING,
					 GL_BUFFER_DATA_SIZE };
		GLint vals[2] = { -1, 0 };

		glGetProgramResourceiv(program, GL_SHADER_STORAGE_BLOCK,
				       (GLuint)i, 2, props, 2, NULL, vals);
		if (vals[0] != OUTPUT_BINDING)
			continue;
		/* An unsized array counts one element here, and Mesa
		 * rounds the size up to 16 bytes: compare alike. */
		if ((size_t)vals[1] > (out_bytes + 15) / 16 * 16)
			return gp_error(GPUPIPE_EINVAL, "out_bytes %zu is "
					"smaller than the %d bytes the shader's "
					"output block (binding 2) declares",
					out_bytes, vals[1]);
		return 0;
	}
	return gp_error(GPUPIPE_ESHADER, "the compute shader has no active "
			"shader storage block at binding 2 (the item's "
			"output): declare one with layout(std430, "
			"binding = 2) and write to it");
}

int gp_shader_build(const char *source, size_t out_bytes, unsigned *program)
{
	GLuint shader, prog;
	GLint ok = 0;
	int ret;

	shader = glCreateShader(GL_COMPUTE_SHADER);
	if (!shader)
		return gp_error(GPUPIPE_EDRIVER, "glCreateShader failed: "
				"GL error 0x%04x", glGetError());
	glShaderSource(shader, 1, &source, NULL);
	glCompileShader(shader);
	glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		ret = shader_log_error(shader, false, "compile");
		glDeleteShader(shader);
		return ret;
	}
	prog = glCreateProgram();
	glAttachShader(prog, shader);
	glLinkProgram(prog);
	/* The program keeps the compiled code; the shader can go. */
	glDetachShader(prog, shader);
	glDeleteShader(shader);
	glGetProgramiv(prog, GL_LINK_STATUS, &ok);
	if (!ok) {
		ret = shader_log_error(prog, true, "link");
		glDeleteProgram(prog);
		return ret;
	}
	ret = check_output_binding(prog, out_bytes);
	if (ret) {
		glDeleteProgram(prog);
		return ret;
	}
	*program = prog;
	return 0;
}

int gpupipe_load_shader(const char *path, char **source)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	gp_error_clear();
	if (!path || !source)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_load_shader: %s is "
				"NULL", path ? "source" : "path");
	f = fopen(path, "rb");
	if (!f)
		return gp_error(GPUPIPE_EINVAL, "cannot open shader file "
				"'%s': %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 16384;
			nb = gp_realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return gp_error(GPUPIPE_ENOMEM, "cannot read "
						"'%s': out of memory", path);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		int err = errno;

		free(buf);
		fclose(f);
		return gp_error(GPUPIPE_EINVAL, "cannot read shader file "
				"'%s': %s", path, strerror(err));
	}
	fclose(f);
	buf[len] = '\0';
	*source = buf;
	return 0;
}
