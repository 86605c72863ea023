/* SPDX-License-Identifier: Apache-2.0 */
/* np_runtime: whether the agent runs in a container, for the "runtime" of
 * metrics and heartbeats. */
#ifndef NP_RUNTIME_H
#define NP_RUNTIME_H

/* "singularity" inside Singularity/Apptainer, "docker" inside an OCI
 * container (Docker, containerd, Kubernetes, Podman: the installation types
 * agent.runtime knows are native, docker, singularity), NULL otherwise.
 * root prefixes the files read ("" for the real ones; a test's tree).
 *
 * /.dockerenv alone does not make a container: a VM whose disk was made
 * from a Docker image keeps it (systemd-detect-virt then says docker too).
 * What counts is what the kernel shows of this process: a cgroup of a
 * container engine (cgroup v1, or v2 without a cgroup namespace), or a root
 * file system from an engine's storage (overlay of /var/lib/docker, of
 * containerd's snapshotter; cgroup v2 with a private namespace shows "0::/"),
 * or Podman's /run/.containerenv. */
const char *np_runtime_container(const char *root);

#endif
