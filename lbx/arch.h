/* SPDX-License-Identifier: MIT */
/*
 * The architecture boxes run as: the host's (uname's machine), so engine
 * qemu emulates the same machine KVM would run. What each engine needs to
 * know of it is here: the QEMU binary and machine, the guest kernel's
 * recipe and file, the console device.
 */
#ifndef LBX_ARCH_H
#define LBX_ARCH_H

#include <stdbool.h>

enum lbx_arch { LBX_ARCH_X86_64, LBX_ARCH_ARM64, LBX_ARCH_OTHER };

/* The architecture of boxes on this host (see lbx_arch_override). */
enum lbx_arch lbx_arch(void);
/* uname's machine, as lbx knows it: x86_64, aarch64, or another. */
enum lbx_arch lbx_arch_of_machine(const char *machine);
/* "x86_64", "aarch64", "unsupported". */
const char *lbx_arch_name(enum lbx_arch a);
/*
 * Plan boxes for a (lbx engine-argv --arch, for tests): lbx_arch() says a.
 * A box of another architecture than the machine's never runs on KVM.
 */
void lbx_arch_override(enum lbx_arch a);
/* The machine's own architecture again (tests). */
void lbx_arch_override_end(void);
/* Whether boxes are of the machine's own architecture (so KVM can run them). */
bool lbx_arch_native(void);

/* qemu-system-x86_64 or qemu-system-aarch64, and the Debian package that has it. */
const char *lbx_arch_qemu(enum lbx_arch a);
const char *lbx_arch_qemu_package(enum lbx_arch a);
/* The guest kernel's recipe (beside lbx) and the file it leaves in its cache directory. */
const char *lbx_arch_kernel_script(enum lbx_arch a);
const char *lbx_arch_kernel_file(enum lbx_arch a);

#endif
