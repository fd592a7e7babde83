/* SPDX-License-Identifier: MIT */
/*
 * gldev.c: one device's GL objects (buffers, program, queries, the GPU
 * clock's offset), all made, used and deleted on its submit thread.
 */
#ifndef GPUPIPE_GLDEV_H
#define GPUPIPE_GLDEV_H

#include "internal.h"

/* Check the driver's limits, build the program, create and map the
 * buffers, create the queries: d's GL state for its submit thread. On
 * failure, the caller still calls gp_gldev_fini, which deletes whatever
 * was made. */
GP_HIDDEN int gp_gldev_init(struct gp_dev *d);
GP_HIDDEN void gp_gldev_fini(struct gp_dev *d);

/* The name of a GL error code (a GLenum), for messages. */
GP_HIDDEN const char *gp_gl_error_name(unsigned e);
/* Drop pending GL errors that belong to no item (bounded). */
GP_HIDDEN void gp_gl_clear_errors(void);

/* Bind slot index's ranges of the four buffers to bindings 0-3; the
 * scratch slot (index d->nslots) between batches. */
GP_HIDDEN void gp_gldev_bind_slot(struct gp_dev *d, size_t index);
GP_HIDDEN void gp_gldev_bind_scratch(struct gp_dev *d);

/* Timer queries: read s's last traced dispatch into its trace record;
 * answer gpupipe_trace_end for every slot of d. */
GP_HIDDEN void gp_gldev_read_slot_queries(struct gp_dev *d,
					  struct gp_slot *s);
GP_HIDDEN void gp_gldev_collect_trace(struct gp_dev *d);

/* A fence was seen signalled: rule out a GPU reset (breaks d if one). */
GP_HIDDEN void gp_gldev_check_reset(struct gp_dev *d);

#endif /* GPUPIPE_GLDEV_H */
