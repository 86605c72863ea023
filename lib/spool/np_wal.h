/* SPDX-License-Identifier: Apache-2.0 */
/* np_wal: the log that makes received instances durable with one write.
 *
 * Making a new file durable costs a write, an fsync of the file and an
 * fsync of its folder: four or five device round trips, each ending in a
 * cache flush, for every instance. np-recv instead writes each instance
 * (up to NP_WAL_MAX bytes) to its file as before, renames it into
 * incoming/, and appends a copy to a log slot of its own in spool/wal/ with
 * one direct, synchronous write into space written once when the slot was
 * made (so no metadata changes and one flush). Only then does it answer the
 * C-STORE. When the slot is full, before a study lock is released and when
 * the association ends, one syncfs() makes the files themselves durable
 * and the slot starts over (a new generation).
 *
 * Each association flushes its own slot, with no group commit: a leader
 * that flushes for the others (writes without O_DSYNC, then one fdatasync
 * under a shared flock for every write done so far) was measured against
 * this over 4 associations (bench/recv.sh, 2026-12) and was no faster in
 * wall or CPU time: the disk runs concurrent synchronous writes side by
 * side, and the leader's extra fdatasync, flock and wake-ups cost what a
 * shared flush saves. Without the second copy of each instance's bytes the
 * file itself must be fsynced before the answer (a journal commit each):
 * bench/recv.sh measures that as np-recv-nolog, which writes 1.03 bytes per
 * byte received against the log's 1.94 but took longer over one association
 * in 5 of 7 runs (1.0-3.9x storescp's wall, the log 0.9-3.1x), as the
 * flushes of a busy disk grow slow. Nor does a thread checkpoint a full
 * slot while the association logs into a second one (measured 2026-12): no
 * faster over 4 associations in bench/recv.sh once every receiver started
 * on a clean page cache (1.13 against 1.15x storescp's wall), and about 10%
 * slower receiving in bench/pipeline.sh (median of 9 runs each), where the
 * thread's syncfs, which writes out the other services' files too, slowed
 * every flush of the log beside it. Writing a record's blocks ahead while
 * the instance arrives (the head block last) was no faster either. Logging
 * only instances of up to 64 KiB and fsyncing larger ones cut the bytes
 * written per byte received from 1.93 to 1.20 on bench/recv.sh's realistic
 * set and took 1.09x storescp's wall over 4 associations, but 1.24x over
 * one (1.09x with every instance logged), the way most PACS send.
 *
 * After a crash (killed process, power loss) np_wal_recover_all() replays
 * every slot no live process holds: a logged instance whose file is
 * missing or differs is written again, unless a newer copy of it arrived
 * since. np-recv runs it at start and when an association process dies;
 * np-stable runs it before each scan, so it never takes a study whose
 * files are not durable yet. */
#ifndef NP_WAL_H
#define NP_WAL_H

#include <stddef.h>

struct np_err;

/* Bytes of one logged file at most (meta header included). */
#define NP_WAL_MAX (1024u * 1024u)

struct np_wal;

/* Claim a free slot in home/spool/wal/ (made and written on first use),
 * replaying what a dead process left in it. Returns NULL with err when the
 * log cannot be used (e.g. the file system refuses direct writes): the
 * caller then fsyncs every file instead. */
struct np_wal *np_wal_open(const char *home, struct np_err *err);
/* Where the caller puts the next file's bytes (NP_WAL_MAX of room): the
 * log writes them from there, without a copy. */
unsigned char *np_wal_buf(struct np_wal *w);
/* Log the len bytes at np_wal_buf() as the file incoming/dir/name, whose
 * inode and modification time (ns) the caller gives (from fstat after its
 * write). Returns 0 once the bytes are durable, or -1 with err. */
int np_wal_append(struct np_wal *w, size_t len, const char *dir, const char *name, unsigned long long ino,
		  long long mtime_ns, struct np_err *err);
/* Whether records wait for a checkpoint. */
int np_wal_dirty(const struct np_wal *w);
/* Make every file the slot logged durable (syncfs) and empty the slot. */
int np_wal_checkpoint(struct np_wal *w, struct np_err *err);
/* Checkpoint and give up the slot. */
int np_wal_close(struct np_wal *w, struct np_err *err);
/* Replay and empty every slot no live process holds. Returns the number of
 * files written again, or -1 with err. */
int np_wal_recover_all(const char *home, struct np_err *err);

/* Make the first n slots now (32 MiB each, written once) so the first
 * associations do not wait for it. Slots in use or made are left alone. */
int np_wal_prepare(const char *home, int n, struct np_err *err);

/* Remove the slots numbered keep and up that no process holds, once
 * replayed (a dead process's records are written back first; a slot whose
 * replay fails is kept): a burst of associations made one slot each, 32 MiB
 * apiece, and the disk should get that space back once the burst is over.
 * A slot removed while another process opened it is never used: np_wal_open
 * checks the slot it locked still has its name. Returns the number of
 * slots removed, or -1 with err. */
int np_wal_trim(const char *home, int keep, struct np_err *err);

/* One record read back from a slot image (exposed for the fuzz target). */
struct np_wal_rec {
	const char *dir, *name;
	unsigned long long ino;
	long long mtime_ns;
	const unsigned char *data;
	size_t len;
};
/* Call fn for each valid record of the current generation in the len bytes
 * of a slot image, in order, until one is invalid or fn returns nonzero.
 * Returns the number of records passed to fn. */
int np_wal_parse(const unsigned char *img, size_t len, int (*fn)(void *ctx, const struct np_wal_rec *r), void *ctx);

#endif
