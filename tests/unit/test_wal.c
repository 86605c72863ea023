// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_fs.h"
#include "np_spool.h"
#include "np_wal.h"

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STUDY "1.2.3"

static const char *incoming(const char *name)
{
	static char p[600];
	snprintf(p, sizeof p, "%s/spool/incoming/" STUDY "/%s", tmp, name);
	return p;
}

/* A home with a study folder; NULL (test skipped) where the file system
 * refuses direct writes. */
static struct np_wal *open_log(void)
{
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkdir(incoming(""), 0750);
	struct np_wal *w = np_wal_open(tmp, &err);
	if (!w && err.sys == EINVAL)
		skip();
	assert_non_null(w);
	return w;
}

/* Write name as np-recv does (the file, then its record). */
static void store(struct np_wal *w, const char *name, const char *content)
{
	size_t n = strlen(content);
	memcpy(np_wal_buf(w), content, n);
	int fd = open(incoming(name), O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	assert_int_equal(np_wal_append(w, n, STUDY, name, (unsigned long long)st.st_ino, mt, NULL), 0);
}

static char *content(const char *name)
{
	return np_read_file(incoming(name), 1 << 20, NULL, NULL);
}

/* An association process that logs and dies without a checkpoint. */
static void die_after_logging(const char *const *names, const char *const *contents, int n)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct np_wal *w = np_wal_open(tmp, NULL);
		for (int i = 0; i < n; i++)
			store(w, names[i], contents[i]);
		_exit(0); /* no np_wal_close: the records stay */
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void closed_log_has_nothing_to_replay(void **state)
{
	(void)state;
	struct np_wal *w = open_log();
	store(w, "a.dcm", "alpha");
	assert_true(np_wal_dirty(w));
	assert_int_equal(np_wal_close(w, NULL), 0);
	unlink(incoming("a.dcm"));
	assert_int_equal(np_wal_recover_all(tmp, NULL), 0);
	assert_int_equal(access(incoming("a.dcm"), F_OK), -1);
}

static void replay_writes_back_lost_and_damaged_files(void **state)
{
	(void)state;
	np_wal_close(open_log(), NULL);
	const char *names[] = {"lost.dcm", "damaged.dcm", "intact.dcm", "newer.dcm"};
	const char *data[] = {"lost bytes", "damaged bytes", "intact bytes", "older bytes"};
	die_after_logging(names, data, 4);
	/* what a power cut may leave */
	unlink(incoming("lost.dcm"));
	int fd = open(incoming("damaged.dcm"), O_WRONLY);
	assert_int_equal(pwrite(fd, "XX", 2, 3), 2);
	close(fd);
	/* a newer copy of an instance arrived after the crash */
	usleep(20000);
	assert_int_equal(np_write_atomic(incoming("newer.dcm"), "newer bytes", 11, 0640, NULL), 0);

	struct np_err err = {0};
	assert_int_equal(np_wal_recover_all(tmp, &err), 2);
	const char *want[] = {"lost bytes", "damaged bytes", "intact bytes", "newer bytes"};
	for (int i = 0; i < 4; i++) {
		char *got = content(names[i]);
		assert_non_null(got);
		assert_string_equal(got, want[i]);
		free(got);
	}
	/* the slot starts a new generation: nothing to replay twice */
	unlink(incoming("lost.dcm"));
	assert_int_equal(np_wal_recover_all(tmp, NULL), 0);
	assert_int_equal(access(incoming("lost.dcm"), F_OK), -1);
}

/* A slot a live process holds is not replayed under it. */
static void busy_slot_is_left_alone(void **state)
{
	(void)state;
	struct np_wal *w = open_log();
	store(w, "busy.dcm", "in flight");
	unlink(incoming("busy.dcm"));
	assert_int_equal(np_wal_recover_all(tmp, NULL), 0);
	assert_int_equal(access(incoming("busy.dcm"), F_OK), -1);
	np_wal_close(w, NULL);
}

static char *slot_image(size_t *len)
{
	char p[600];
	snprintf(p, sizeof p, "%s/spool/wal/slot-0", tmp);
	return np_read_file(p, 64u << 20, len, NULL);
}

/* Records are encrypted: no patient data in the clear in spool/wal. */
static void records_hold_no_clear_text(void **state)
{
	(void)state;
	np_wal_close(open_log(), NULL);
	const char *names[] = {"x.dcm"};
	const char *data[] = {"DOE^JANE canary 19700101"};
	die_after_logging(names, data, 1);
	size_t len;
	char *img = slot_image(&len);
	assert_non_null(img);
	assert_null(memmem(img, len, "DOE^JANE", 8));
	assert_null(memmem(img, len, "x.dcm", 5));
	assert_int_equal(np_wal_recover_all(tmp, NULL), 0); /* file intact */
	free(img);
}

static int count(void *ctx, const struct np_wal_rec *r)
{
	(void)r;
	++*(int *)ctx;
	return 0;
}

/* A torn record ends the log: it and what follows are not replayed. */
static void torn_record_ends_the_log(void **state)
{
	(void)state;
	np_wal_close(open_log(), NULL);
	const char *names[] = {"r1.dcm", "r2.dcm", "r3.dcm"};
	const char *data[] = {"one", "two", "three"};
	die_after_logging(names, data, 3);
	size_t len;
	char *img = slot_image(&len);
	int n = 0;
	assert_int_equal(np_wal_parse((unsigned char *)img, len, count, &n), 3);
	img[2 * 4096 + 200] ^= 1; /* inside the second record */
	n = 0;
	assert_int_equal(np_wal_parse((unsigned char *)img, len, count, &n), 1);
	/* short or foreign images hold no records */
	assert_int_equal(np_wal_parse((unsigned char *)img, 4096, count, &n), 0);
	assert_int_equal(np_wal_parse((const unsigned char *)"NPWALSB1", 8, count, &n), 0);
	free(img);
}

/* A full slot starts over after a checkpoint, without losing a record. */
static void full_slot_checkpoints(void **state)
{
	(void)state;
	struct np_wal *w = open_log();
	static char big[NP_WAL_MAX / 2];
	memset(big, 'b', sizeof big - 1);
	for (int i = 0; i < 80; i++) { /* 80 x 516 KiB > one 32 MiB slot */
		char name[32];
		snprintf(name, sizeof name, "b%d.dcm", i);
		big[0] = (char)('A' + i % 26);
		store(w, name, big);
	}
	assert_true(np_wal_dirty(w));
	assert_int_equal(np_wal_close(w, NULL), 0);
	char *got = content("b79.dcm");
	assert_non_null(got);
	assert_int_equal(got[0], 'A' + 79 % 26);
	free(got);
}

static int slot_exists(int i)
{
	char p[600];
	snprintf(p, sizeof p, "%s/spool/wal/slot-%d", tmp, i);
	return access(p, F_OK) == 0;
}

/* After a burst, the slots beyond the first keep go once no process holds
 * them; a dead process's records are written back first, and a slot in
 * use stays. A slot is made again when needed. */
static void trim_removes_idle_extra_slots(void **state)
{
	(void)state;
	struct np_wal *w[5];
	w[0] = open_log();
	for (int i = 1; i < 5; i++)
		assert_non_null(w[i] = np_wal_open(tmp, NULL));
	const char *names[] = {"late.dcm"}, *data[] = {"late bytes"};
	die_after_logging(names, data, 1); /* in slot-5 */
	unlink(incoming("late.dcm"));
	for (int i = 0; i < 6; i++)
		assert_true(slot_exists(i));
	np_wal_close(w[3], NULL);
	np_wal_close(w[4], NULL);

	struct np_err err = {0};
	assert_int_equal(np_wal_trim(tmp, 2, &err), 3);
	assert_true(slot_exists(0) && slot_exists(1));
	assert_true(slot_exists(2)); /* held by w[2] */
	assert_false(slot_exists(3) || slot_exists(4) || slot_exists(5));
	char *got = content("late.dcm");
	assert_non_null(got);
	assert_string_equal(got, "late bytes");
	free(got);
	assert_int_equal(np_wal_trim(tmp, 2, NULL), 0);

	w[3] = np_wal_open(tmp, NULL);
	assert_non_null(w[3]);
	assert_true(slot_exists(3));
	store(w[3], "again.dcm", "again");
	for (int i = 0; i < 4; i++)
		assert_int_equal(np_wal_close(w[i], NULL), 0);
	assert_int_equal(np_wal_trim(tmp, 2, NULL), 2);
	assert_true(slot_exists(0) && slot_exists(1) && !slot_exists(2) && !slot_exists(3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(closed_log_has_nothing_to_replay, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(replay_writes_back_lost_and_damaged_files, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(busy_slot_is_left_alone, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(records_hold_no_clear_text, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(torn_record_ends_the_log, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(full_slot_checkpoints, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(trim_removes_idle_extra_slots, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
