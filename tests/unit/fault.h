/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection for unit tests: the test binaries are linked with
 * -Wl,--wrap=fsync,--wrap=rename,--wrap=write; fault_arm("rename", 2, EIO)
 * makes the 2nd rename(2) from now fail with EIO. */
#ifndef NP_TEST_FAULT_H
#define NP_TEST_FAULT_H

void fault_arm(const char *call, int nth, int err);
void fault_reset(void);
/* How many times the wrapped call ran (failed or not) since the start. */
int fault_calls(const char *call);

#endif
