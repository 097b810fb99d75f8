// SPDX-License-Identifier: GPL-2.0
/* ipn_stress.c - AF_IPN stress test (placeholder until written) */
#include "ipn_tap.h"
int main(void) { return tap_done(); }
