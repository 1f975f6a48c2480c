/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the kernel image parsers (ELF headers, ELF notes,
 * bzImage setup header): a wrong or hostile kernel file must give an
 * error, and what a successful parse reports must lie inside the file.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kernel_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_kernel k;
	char err[160];

	if (vmm_elf_parse_header(data, size, size, &k, err, sizeof(err)) == 0) {
		if (k.nseg == 0 || k.entry64 < k.load_lo || k.entry64 >= k.load_hi)
			abort();
		for (unsigned i = 0; i < k.nseg; i++)
			if (k.seg[i].offset + k.seg[i].filesz > size || k.seg[i].filesz > k.seg[i].memsz)
				abort();
	}
	(void)vmm_elf_parse_note(data, size, &k);
	if (vmm_bzimage_parse_header(data, size, size, &k, err, sizeof(err)) == 0 &&
	    (k.pm_offset >= size || k.setup_hdr_len > sizeof(k.setup_hdr)))
		abort();
	return 0;
}
