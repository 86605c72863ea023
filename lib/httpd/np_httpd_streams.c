// SPDX-License-Identifier: Apache-2.0
/* np_httpd_streams: see np_httpd_streams.h. */
#include "np_httpd_streams.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Never more than this many at once whatever the settings say (the schema
 * allows up to 32). */
#define STREAMS_MAX 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char keys[STREAMS_MAX][96]; /* "" = free */

int np_httpd_stream_enter(const char *key, int max_total, int max_per_key)
{
	int total = 0, mine = 0, free_i = -1, rc;
	key = key[0] ? key : "-";
	pthread_mutex_lock(&lock);
	for (int i = 0; i < STREAMS_MAX; i++) {
		if (!keys[i][0]) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		total++;
		mine += !strncmp(keys[i], key, sizeof keys[i] - 1);
	}
	if (mine >= max_per_key)
		rc = 429;
	else if (total >= max_total || free_i < 0)
		rc = 503;
	else {
		snprintf(keys[free_i], sizeof keys[free_i], "%s", key);
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void np_httpd_stream_leave(const char *key)
{
	key = key[0] ? key : "-";
	pthread_mutex_lock(&lock);
	for (int i = 0; i < STREAMS_MAX; i++)
		if (keys[i][0] && !strncmp(keys[i], key, sizeof keys[i] - 1)) {
			keys[i][0] = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
}
