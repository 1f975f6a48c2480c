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
/*
 * Whether QEMU may use -accel kvm for a Linux guest: /dev/kvm opens, the
 * CPU has svm or vmx, and KVM runs on it (kvm_amd or kvm_intel loaded),
 * not a software hypervisor behind /dev/kvm such as kvm_pvm, which cannot
 * run Linux. Engine qemu passes "-accel kvm -cpu host" when true, else
 * "-accel tcg".
 */
bool engine_kvm_runs_linux(void);
/*
 * Whether Linux on lbx-vmm is proven on this kind of CPU: AMD SVM by the
 * nested layer (tests/nested, kvm_amd under QEMU TCG); Intel VMX is not.
 */
bool engine_vm_proven(void);

#endif
