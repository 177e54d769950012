/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SANDBOX_MOUNTAPI_H
#define CORDON_SANDBOX_MOUNTAPI_H

/*
 * The new mount API (Linux >= 5.2; mount_setattr >= 5.12). glibc >= 2.36
 * declares the wrappers in <sys/mount.h>; <linux/mount.h> must not be
 * included beside it (the two clash).
 */
#include <sys/mount.h>

#define sys_open_tree     open_tree
#define sys_move_mount    move_mount
#define sys_mount_setattr mount_setattr

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#endif
