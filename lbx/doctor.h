/* SPDX-License-Identifier: MIT */
/*
 * What this host lets lbx do, one check per fact (`lbx doctor`), each
 * with the fix when it falls short. lbx up and lbx build ask the checks a
 * feature needs before they start, so the user reads one line per problem
 * instead of an error from podman or mmdebstrap.
 */
#ifndef LBX_DOCTOR_H
#define LBX_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

int lbx_cmd_doctor(int argc, char **argv);

/*
 * Whether the calling user has subordinate uids and gids (/etc/subuid,
 * /etc/subgid), which rootless podman and mmdebstrap's user namespace
 * need. Root needs none: true. If not, a one-line reason with the fix.
 */
bool doctor_has_subids(char *why, size_t sz);

/* Whether /dev/net/tun opens for this user (engine light's network). */
bool doctor_tun_usable(char *why, size_t sz);

#endif
