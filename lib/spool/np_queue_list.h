/* SPDX-License-Identifier: Apache-2.0 */
/* np_queue_list: the studies of every state waiting to retry after
 * temporary failures (np-queue --waiting), printed for an admin. */
#ifndef NP_QUEUE_LIST_H
#define NP_QUEUE_LIST_H

/* Print one line per waiting study of home to stdout, in local time (what
 * it waits for, next try, since when, attempts, the last error), or "no
 * study is waiting to retry". Returns 0, np-queue --waiting's exit code. */
int np_queue_print_waiting(const char *home);

#endif
