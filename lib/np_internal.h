/* SPDX-License-Identifier: Apache-2.0 */
/* Library-internal functions shared between libnp modules (never included
 * by programs). */
#ifndef NP_INTERNAL_H
#define NP_INTERNAL_H

/* np_dcm_scan.c: 1 if every element, item and sequence length of the DICOM
 * file at path stays inside its container (or the file cannot be walked:
 * unreadable, big endian, deflated), 0 if the file is malformed. */
int np__dcm_lengths_ok(const char *path);

#endif
