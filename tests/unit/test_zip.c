// SPDX-License-Identifier: Apache-2.0
/* np_zip streams exactly the bytes libarchive's ZIP writer (compression=store)
 * produces for the same files, in the size it announced up front; a file that
 * changes size stops the stream instead of yielding a wrong ZIP. */
#include "np_crypto.h"
#include "np_err.h"
#include "np_zip.h"

#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference: np-upload's ZIP writer before it streamed (np_zip_write,
 * libarchive), kept here to prove the stream byte-identical to it. */
struct ref {
	int fd;
	struct np_digest *sha;
	long long bytes;
};

static la_ssize_t ref_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	struct ref *r = ud;
	assert_int_equal(write(r->fd, buf, n), (ssize_t)n);
	np_digest_update(r->sha, buf, n);
	r->bytes += (long long)n;
	return (la_ssize_t)n;
}

static void ref_entry(struct archive *a, const char *name, const char *path, const char *mem, long long size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, 946684800, 0);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	if (mem) {
		assert_int_equal(archive_write_data(a, mem, (size_t)size), size);
		return;
	}
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	static char buf[1 << 16];
	for (long long left = size; left > 0;) {
		ssize_t r = read(fd, buf, sizeof buf);
		assert_true(r > 0);
		assert_int_equal(archive_write_data(a, buf, (size_t)r), r);
		left -= r;
	}
	close(fd);
}

/* Writes the reference ZIP to out; its SHA-256 into sha, returns its size. */
static long long ref_zip(const char *out, const char *root, const struct np_zip_file *f, size_t n, const char *mem,
			 char sha[65])
{
	struct ref r = {.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), .sha = np_digest_new("sha256", NULL)};
	assert_true(r.fd >= 0);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_options(a, "zip:compression=store"), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &r, NULL, ref_write, NULL), ARCHIVE_OK);
	if (mem)
		ref_entry(a, "sidecar.json", NULL, mem, (long long)strlen(mem));
	for (size_t i = 0; i < n; i++) {
		char p[1024];
		snprintf(p, sizeof p, "%s/%s", root, f[i].rel);
		ref_entry(a, f[i].name, p, NULL, f[i].size);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	close(r.fd);
	np_digest_final_hex(r.sha, sha);
	return r.bytes;
}

/* The whole stream in reads of at most chunk bytes, into a malloc'd buffer. */
static char *stream_all(struct np_zip *z, size_t chunk, long long *len)
{
	struct np_err err = {0};
	assert_int_equal(np_zip_rewind(z, &err), 0);
	size_t cap = (size_t)np_zip_size(z) + 1 + chunk, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	for (;;) {
		assert_true(n + chunk <= cap); /* more bytes than announced fails here */
		long r = np_zip_read(z, out + n, chunk, &err);
		if (r < 0)
			fail_msg("np_zip_read: %s", err.msg);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = (long long)n;
	return out;
}

static char *slurp(const char *path, long long *len)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	char *b = malloc((size_t)st.st_size + 1);
	int fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return b;
}

static void put(const char *rel, long long size, int seed)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s", at(rel));
	*strrchr(dir, '/') = 0;
	assert_int_equal(np_mkdirs(dir, 0755, NULL), 0);
	unsigned char *b = malloc((size_t)size + 1);
	for (long long i = 0; i < size; i++)
		b[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 9));
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, (size_t)size), size);
	close(fd);
	free(b);
}

/* Stream against reference for one set, in several read sizes. */
static void same_as_reference(const struct np_zip_file *f, size_t n, const char *mem)
{
	char sha[65];
	long long want_len = ref_zip(at("ref.zip"), tmp, f, n, mem, sha);
	long long ref_len;
	char *ref = slurp(at("ref.zip"), &ref_len);
	assert_int_equal(ref_len, want_len);
	struct np_err err = {0};
	struct np_zip *z = np_zip_new(tmp, f, n, "sidecar.json", mem, &err);
	assert_non_null(z);
	assert_int_equal(np_zip_size(z), ref_len); /* the Content-Length */
	static const size_t chunks[] = {1, 7, 4096, 65536, 1 << 20};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		long long len;
		char *got = stream_all(z, chunks[c], &len);
		assert_int_equal(len, ref_len);
		assert_memory_equal(got, ref, (size_t)ref_len);
		assert_non_null(np_zip_sha(z));
		assert_string_equal(np_zip_sha(z), sha);
		free(got);
	}
	/* An HTTP client stops asking once it has the Content-Length: the SHA is
	 * there after the last byte, without a read that returns 0. */
	char *whole = malloc((size_t)ref_len);
	assert_int_equal(np_zip_rewind(z, &err), 0);
	for (long long n = 0; n < ref_len;) {
		long r = np_zip_read(z, whole + n, (size_t)(ref_len - n), &err);
		assert_true(r > 0);
		n += r;
	}
	assert_memory_equal(whole, ref, (size_t)ref_len);
	assert_non_null(np_zip_sha(z));
	assert_string_equal(np_zip_sha(z), sha);
	free(whole);
	np_zip_free(z);
	free(ref);
}

static void stream_is_byte_identical(void **state)
{
	(void)state;
	put("d/S1/a.dcm", 1000, 1);
	put("d/S1/b.dcm", 0, 2);
	put("d/S2/a.dcm", 1, 3);
	put("d/S2/big.dcm", 300000, 4);
	struct np_zip_file f[] = {{"d/S1/a.dcm", "a.dcm", 1000},
				  {"d/S1/b.dcm", "b.dcm", 0},
				  {"d/S2/a.dcm", "a_1.dcm", 1},
				  {"d/S2/big.dcm", "big.dcm", 300000}};
	same_as_reference(f, 4, "{\"PatientAge\":\"060Y\",\"PatientSex\":\"F\"}");
	same_as_reference(f, 4, NULL);
	same_as_reference(f + 3, 1, NULL);
	same_as_reference(f, 0, "{}");
}

/* Over 65535 entries: the ZIP64 end of central directory. */
static void many_entries_zip64_end(void **state)
{
	(void)state;
	put("d/e", 3, 5);
	size_t n = 70000;
	struct np_zip_file *f = calloc(n, sizeof *f);
	char *names = malloc(n * 16);
	for (size_t i = 0; i < n; i++) {
		snprintf(names + i * 16, 16, "e%zu", i);
		f[i] = (struct np_zip_file){"d/e", names + i * 16, 3};
	}
	same_as_reference(f, n, NULL);
	free(names);
	free(f);
}

/* Opt-in (NP_TEST_ZIP64=1, reads 4 GiB): an entry past 4 GiB and one whose
 * offset is past 4 GiB, ZIP64 extras and descriptors, against libarchive. */
static void big_entry_zip64(void **state)
{
	(void)state;
	if (!getenv("NP_TEST_ZIP64")) { /* cmocka's skip() is a "not ok" to prove */
		print_message("big_entry_zip64 not run: set NP_TEST_ZIP64=1\n");
		return;
	}
	long long big = (4LL << 30) + 12345;
	int fd = open(at("big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(ftruncate(fd, big), 0);
	assert_int_equal(pwrite(fd, "tail", 4, big - 4), 4);
	close(fd);
	put("d/after", 100, 9);
	struct np_zip_file f[] = {{"big", "big.dcm", big}, {"d/after", "after.dcm", 100}};
	char sha[65];
	long long len = ref_zip("/dev/null", tmp, f, 2, "{}", sha);
	struct np_err err = {0};
	struct np_zip *z = np_zip_new(tmp, f, 2, "sidecar.json", "{}", &err);
	assert_int_equal(np_zip_size(z), len);
	assert_int_equal(np_zip_rewind(z, &err), 0);
	static char buf[1 << 20];
	long long n = 0;
	for (long r; (r = np_zip_read(z, buf, sizeof buf, &err)) > 0;)
		n += r;
	assert_int_equal(n, len);
	assert_string_equal(np_zip_sha(z), sha);
	np_zip_free(z);
}

/* A retry re-streams from byte 0; a file that changed size fails the rewind
 * (nothing sent) or, changed mid-stream, stops the stream short. */
static void changed_file_never_completes(void **state)
{
	(void)state;
	put("d/a", 5000, 1);
	put("d/b", 5000, 2);
	struct np_zip_file f[] = {{"d/a", "a", 5000}, {"d/b", "b", 5000}};
	struct np_err err = {0};
	struct np_zip *z = np_zip_new(tmp, f, 2, NULL, NULL, &err);
	long long l1, l2;
	char *one = stream_all(z, 100, &l1);
	char *two = stream_all(z, 333, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(one, two, (size_t)l1);
	free(one);
	free(two);

	put("d/b", 4000, 2); /* shrank before the PUT */
	assert_int_equal(np_zip_rewind(z, &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "changed"));

	put("d/b", 5000, 2);
	char buf[100];
	err = (struct np_err){0};
	assert_int_equal(np_zip_rewind(z, &err), 0);
	assert_true(np_zip_read(z, buf, sizeof buf, &err) > 0); /* into a's data */
	put("d/b", 6000, 2);					/* grew while a goes out */
	long r;
	long long sent = 100;
	while ((r = np_zip_read(z, buf, sizeof buf, &err)) > 0)
		sent += r;
	assert_int_equal(r, -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_true(sent < np_zip_size(z));
	assert_null(np_zip_sha(z));
	assert_int_equal(np_zip_read(z, buf, sizeof buf, &err), -1); /* stays failed until rewound */

	put("d/b", 5000, 2);
	assert_int_equal(np_zip_rewind(z, &err), 0);
	assert_true(np_zip_read(z, buf, sizeof buf, &err) > 0);
	assert_int_equal(truncate(at("d/a"), 200), 0); /* shrank while being read */
	while ((r = np_zip_read(z, buf, sizeof buf, &err)) > 0)
		;
	assert_int_equal(r, -1);
	assert_non_null(strstr(err.msg, "changed"));
	assert_null(np_zip_sha(z));
	np_zip_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(stream_is_byte_identical, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(many_entries_zip64_end, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(changed_file_never_completes, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(big_entry_zip64, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
