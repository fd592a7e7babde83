/* SPDX-License-Identifier: MIT */
/*
 * config.c: the configuration checked and resolved. (Not "config.h":
 * that name is autoconf's.)
 */
#ifndef GP_CFG_H
#define GP_CFG_H

#include "gpupipe.h"

struct gpupipe;

/* Every field of c, in a fixed order; the first fault is
 * the one named in the error message. Sets the thread's error. */
int gp_config_check(const struct gpupipe_config *c);

/* p->devs, one per device c names (or every hardware device), each
 * with its EGL device index; p->ndevs counts them once they exist. */
int gp_config_devices(struct gpupipe *p, const struct gpupipe_config *c);

/* Copies c into p with its defaults resolved (depth, max_batch, the
 * slots, wait, threads, timeouts) and fills what get_info reports of
 * it. After gp_config_devices. */
int gp_config_take(struct gpupipe *p, const struct gpupipe_config *c);

#endif
