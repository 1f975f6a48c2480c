/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the devices.usb rules of a box definition (from the project: hostile). */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usb_rules rules;
	struct usb_ident d = { .vendor = 0x1209, .product = 1, .nifs = 1 };
	char err[512];

	if (usb_rules_parse((const char *)data, size, "fuzz.json", &rules, err, sizeof(err)) < 0)
		return 0;
	if (rules.n > USB_RULES_MAX)
		abort();
	for (unsigned i = 0; i < rules.n; i++)
		if (rules.rule[i].nifs > USB_RULE_IFS_MAX ||
		    strnlen(rules.rule[i].name, sizeof(rules.rule[i].name)) >=
			sizeof(rules.rule[i].name))
			abort();
	(void)usb_rules_match(&rules, &d);
	return 0;
}
