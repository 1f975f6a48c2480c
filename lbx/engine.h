/* SPDX-License-Identifier: MIT */
#ifndef LBX_ENGINE_H
#define LBX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * The engine to run: `want` unless it is auto, which picks vm when
 * /dev/kvm opens and the CPU has vmx or svm, else qemu; why says why
 * auto did not pick vm ("" otherwise).
 */
enum box_engine engine_resolve(enum box_engine want, char *why, size_t sz);
/* Whether KVM can run a Linux guest here; why not, otherwise. */
bool engine_host_has_kvm(char *why, size_t sz);

#endif
