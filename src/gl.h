/* SPDX-License-Identifier: MIT */
/*
 * The library's only way to OpenGL and EGL: libepoxy's headers, and in a
 * build configured with --enable-fault-injection, every gl* and egl* call
 * the library makes redirected to its wrapper in fault.c, where each is a
 * fault-injection point. tests/test_fault_points.sh fails the build's
 * checks if an object of the library calls libepoxy past this header.
 */
#ifndef GPUPIPE_GL_H
#define GPUPIPE_GL_H

#include <epoxy/egl.h>
#include <epoxy/gl.h>

#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"

#undef glAttachShader
#define glAttachShader gp_fi_glAttachShader
#undef glBindBuffer
#define glBindBuffer gp_fi_glBindBuffer
#undef glBindBuffersRange
#define glBindBuffersRange gp_fi_glBindBuffersRange
#undef glBufferStorage
#define glBufferStorage gp_fi_glBufferStorage
#undef glClientWaitSync
#define glClientWaitSync gp_fi_glClientWaitSync
#undef glCompileShader
#define glCompileShader gp_fi_glCompileShader
#undef glCreateProgram
#define glCreateProgram gp_fi_glCreateProgram
#undef glCreateShader
#define glCreateShader gp_fi_glCreateShader
#undef glDeleteBuffers
#define glDeleteBuffers gp_fi_glDeleteBuffers
#undef glDeleteProgram
#define glDeleteProgram gp_fi_glDeleteProgram
#undef glDeleteQueries
#define glDeleteQueries gp_fi_glDeleteQueries
#undef glDeleteShader
#define glDeleteShader gp_fi_glDeleteShader
#undef glDeleteSync
#define glDeleteSync gp_fi_glDeleteSync
#undef glDetachShader
#define glDetachShader gp_fi_glDetachShader
#undef glDispatchCompute
#define glDispatchCompute gp_fi_glDispatchCompute
#undef glFenceSync
#define glFenceSync gp_fi_glFenceSync
#undef glFinish
#define glFinish gp_fi_glFinish
#undef glFlush
#define glFlush gp_fi_glFlush
#undef glGenBuffers
#define glGenBuffers gp_fi_glGenBuffers
#undef glGenQueries
#define glGenQueries gp_fi_glGenQueries
#undef glGetError
#define glGetError gp_fi_glGetError
#undef glGetGraphicsResetStatus
#define glGetGraphicsResetStatus gp_fi_glGetGraphicsResetStatus
#undef glGetInteger64v
#define glGetInteger64v gp_fi_glGetInteger64v
#undef glGetIntegeri_v
#define glGetIntegeri_v gp_fi_glGetIntegeri_v
#undef glGetIntegerv
#define glGetIntegerv gp_fi_glGetIntegerv
#undef glGetProgramInfoLog
#define glGetProgramInfoLog gp_fi_glGetProgramInfoLog
#undef glGetProgramInterfaceiv
#define glGetProgramInterfaceiv gp_fi_glGetProgramInterfaceiv
#undef glGetProgramResourceiv
#define glGetProgramResourceiv gp_fi_glGetProgramResourceiv
#undef glGetProgramiv
#define glGetProgramiv gp_fi_glGetProgramiv
#undef glGetQueryObjectui64v
#define glGetQueryObjectui64v gp_fi_glGetQueryObjectui64v
#undef glGetQueryObjectuiv
#define glGetQueryObjectuiv gp_fi_glGetQueryObjectuiv
#undef glGetQueryiv
#define glGetQueryiv gp_fi_glGetQueryiv
#undef glGetShaderInfoLog
#define glGetShaderInfoLog gp_fi_glGetShaderInfoLog
#undef glGetShaderiv
#define glGetShaderiv gp_fi_glGetShaderiv
#undef glGetString
#define glGetString gp_fi_glGetString
#undef glLinkProgram
#define glLinkProgram gp_fi_glLinkProgram
#undef glMapBufferRange
#define glMapBufferRange gp_fi_glMapBufferRange
#undef glMemoryBarrier
#define glMemoryBarrier gp_fi_glMemoryBarrier
#undef glQueryCounter
#define glQueryCounter gp_fi_glQueryCounter
#undef glShaderSource
#define glShaderSource gp_fi_glShaderSource
#undef glUnmapBuffer
#define glUnmapBuffer gp_fi_glUnmapBuffer
#undef glUseProgram
#define glUseProgram gp_fi_glUseProgram

#undef eglBindAPI
#define eglBindAPI gp_fi_eglBindAPI
#undef eglCreateContext
#define eglCreateContext gp_fi_eglCreateContext
#undef eglDestroyContext
#define eglDestroyContext gp_fi_eglDestroyContext
#undef eglGetError
#define eglGetError gp_fi_eglGetError
#undef eglGetPlatformDisplayEXT
#define eglGetPlatformDisplayEXT gp_fi_eglGetPlatformDisplayEXT
#undef eglInitialize
#define eglInitialize gp_fi_eglInitialize
#undef eglMakeCurrent
#define eglMakeCurrent gp_fi_eglMakeCurrent
#undef eglQueryAPI
#define eglQueryAPI gp_fi_eglQueryAPI
#undef eglQueryDeviceAttribEXT
#define eglQueryDeviceAttribEXT gp_fi_eglQueryDeviceAttribEXT
#undef eglQueryDeviceStringEXT
#define eglQueryDeviceStringEXT gp_fi_eglQueryDeviceStringEXT
#undef eglQueryDevicesEXT
#define eglQueryDevicesEXT gp_fi_eglQueryDevicesEXT
#undef eglQueryString
#define eglQueryString gp_fi_eglQueryString
#undef eglReleaseThread
#define eglReleaseThread gp_fi_eglReleaseThread
#undef eglTerminate
#define eglTerminate gp_fi_eglTerminate

/* The wrappers' prototypes: each the same as the function it wraps. */
#define GP_FI_DECLARE(name) extern __typeof__(*epoxy_##name) gp_fi_##name \
	__attribute__((visibility("hidden")));
GP_FAULT_GL_CALLS(GP_FI_DECLARE)
GP_FAULT_EGL_CALLS(GP_FI_DECLARE)
GP_FI_DECLARE(glGetError)
GP_FI_DECLARE(eglGetError)
#undef GP_FI_DECLARE

#endif /* GPUPIPE_FAULT_INJECTION */
#endif /* GPUPIPE_GL_H */
