/* SPDX-License-Identifier: Apache-2.0 */
/* np_ts: transfer syntax names (PS3.6 Table A-1) and what np-recv accepts. */
#include "np_ts.h"

#include <string.h>

const struct np_ts np_ts_table[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", 1},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", 1},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", 1},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", 1},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian (retired)", 1},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", 1},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", 1},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", 1},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)", 1},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", 1},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)", 1},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless Only", 1},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", 1},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Lossless Only", 1},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component", 1},
    {"1.2.840.10008.1.2.4.94", "JPIP Referenced", 0},
    {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", 0},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", 1},
    {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", 1},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", 1},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", 1},
    {"1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", 1},
    {"1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", 1},
    {"1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", 1},
    {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", 1},
    {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", 1},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless Only", 1},
    {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Lossless Only", 1},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000", 1},
    {"1.2.840.10008.1.2.5", "RLE Lossless", 1},
};
const unsigned np_ts_count = sizeof np_ts_table / sizeof np_ts_table[0];

const struct np_ts *np_ts_find(const char *uid)
{
	for (unsigned i = 0; uid && i < np_ts_count; i++)
		if (!strcmp(uid, np_ts_table[i].uid))
			return &np_ts_table[i];
	return NULL;
}
