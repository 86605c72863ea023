// SPDX-License-Identifier: Apache-2.0
// Fuzz np-stable's intake of the event files np-recv leaves in spool/events
// (np_recv_events.h): under the privilege split np-recv is another user, so
// the file is untrusted input for the process that owns the index.
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_recv_events.h"
#include "np_spool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char home[64];
static struct np_db *db;

static void drop_home(void)
{
	np_db_close(db);
	np_rmtree(home, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db) {
		snprintf(home, sizeof home, "/tmp/np-fuzz-events.XXXXXX");
		if (!mkdtemp(home) || np_spool_init(home, NULL) < 0 || !(db = np_db_open(home, NULL)))
			abort();
		atexit(drop_home);
	}
	char p[128];
	snprintf(p, sizeof p, "%s/spool/events/1-fuzz.json", home);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	struct np_err err = {0};
	np_recv_events_ingest(home, db, 10, &err);
	/* whatever it was, it is gone: taken or dropped */
	if (access(p, F_OK) == 0)
		abort();
	return 0;
}
