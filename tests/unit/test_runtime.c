// SPDX-License-Identifier: Apache-2.0
#include "np_runtime.h"

#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>

/* A fake root: tmp/proc/self/{cgroup,mountinfo} and the marker files. */
static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char ext4_root[] = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n";
static const char cgroup_v2[] = "0::/\n";

static int fake_root(void **state)
{
	tmp_setup(state);
	mkdir(at("proc"), 0755);
	mkdir(at("proc/self"), 0755);
	mkdir(at("run"), 0755);
	unsetenv("SINGULARITY_CONTAINER");
	unsetenv("APPTAINER_CONTAINER");
	return 0;
}

/* This VM: a Firecracker guest whose disk came from a Docker image. */
static void dockerenv_alone_is_no_container(void **state)
{
	(void)state;
	put(".dockerenv", "");
	put("proc/self/cgroup", "4:memory:/process_api/9d63\n0::/\n");
	put("proc/self/mountinfo", ext4_root);
	assert_null(np_runtime_container(tmp));
}

static void docker_overlay_root(void **state)
{
	(void)state;
	put(".dockerenv", "");
	put("proc/self/cgroup", cgroup_v2);
	put("proc/self/mountinfo", "22 26 0:21 / /proc rw - proc proc rw\n"
				   "612 511 0:52 / / rw,relatime master:262 - overlay overlay rw,lowerdir="
				   "/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=x\n");
	assert_string_equal(np_runtime_container(tmp), "docker");
}

static void docker_cgroup_v1(void **state)
{
	(void)state;
	put("proc/self/cgroup", "12:memory:/docker/0123abcd\n0::/\n");
	put("proc/self/mountinfo", ext4_root);
	assert_string_equal(np_runtime_container(tmp), "docker");
}

static void kubernetes_containerd(void **state)
{
	(void)state;
	put("proc/self/cgroup", "0::/kubepods/besteffort/pod1/0123\n");
	put("proc/self/mountinfo", ext4_root);
	assert_string_equal(np_runtime_container(tmp), "docker");
}

static void podman_containerenv(void **state)
{
	(void)state;
	put("run/.containerenv", "engine=\"podman-4\"\n");
	put("proc/self/cgroup", cgroup_v2);
	put("proc/self/mountinfo", ext4_root);
	assert_string_equal(np_runtime_container(tmp), "docker");
}

/* A host that runs Docker: its other mounts name it, "/" does not. */
static void docker_host_is_native(void **state)
{
	(void)state;
	put("proc/self/cgroup", "0::/system.slice/neuropacs.service\n");
	put("proc/self/mountinfo",
	    "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
	    "90 27 0:50 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/var/"
	    "lib/docker/overlay2/l/A\n");
	assert_null(np_runtime_container(tmp));
}

static void singularity_env(void **state)
{
	(void)state;
	put("proc/self/cgroup", cgroup_v2);
	put("proc/self/mountinfo", ext4_root);
	setenv("APPTAINER_CONTAINER", "/x.sif", 1);
	assert_string_equal(np_runtime_container(tmp), "singularity");
	unsetenv("APPTAINER_CONTAINER");
}

static void unreadable_proc_is_native(void **state)
{
	(void)state;
	assert_null(np_runtime_container(tmp));
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test_setup_teardown(dockerenv_alone_is_no_container, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(docker_overlay_root, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(docker_cgroup_v1, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(kubernetes_containerd, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(podman_containerenv, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(docker_host_is_native, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(singularity_env, fake_root, tmp_teardown),
	    cmocka_unit_test_setup_teardown(unreadable_proc_is_native, fake_root, tmp_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
