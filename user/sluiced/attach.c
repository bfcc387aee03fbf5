// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "sluiced/attach.h"

static int iface_index(const char *ifname)
{
	unsigned int idx = if_nametoindex(ifname);

	if (!idx) {
		log_warnx("no interface '%s'", ifname);
		return -ENODEV;
	}
	return (int)idx;
}

int tc_attach(const char *ifname, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SLUICE_TC_HANDLE,
			    .priority = SLUICE_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int idx = iface_index(ifname), err;

	if (idx < 0)
		return idx;
	hook.ifindex = idx;
	/* Most starts find clsact in place (ours from a previous run, or
	 * another tool's): try the filter first, create the qdisc if needed. */
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			log_warnx("create clsact on %s: %s", ifname, strerror(-err));
			return err;
		}
		err = bpf_tc_attach(&hook, &opts);
	}
	if (err) {
		log_warnx("attach TC egress on %s: %s", ifname, strerror(-err));
		return err;
	}
	log_info("attached TC egress on %s (prio 0x%x handle 0x%x)", ifname,
		 SLUICE_TC_PRIO, SLUICE_TC_HANDLE);
	return 0;
}

/* Is the program with this id one of ours? Decided by its name. */
static bool prog_is_ours(__u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id);
	bool ours;

	if (fd < 0)
		return false;
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       !strncmp(info.name, SLUICE_TC_PROG_NAME, sizeof(info.name));
	close(fd);
	return ours;
}

int tc_detach(const char *ifname)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SLUICE_TC_HANDLE,
			    .priority = SLUICE_TC_PRIO);
	int idx = iface_index(ifname), err;

	if (idx < 0)
		return idx;
	hook.ifindex = idx;
	err = bpf_tc_query(&hook, &opts);
	if (err)
		return err == -ENOENT || err == -EINVAL ? -ENOENT : err;
	if (!prog_is_ours(opts.prog_id)) {
		log_warnx("the filter at our place on %s runs another program; left alone",
			  ifname);
		return -EBUSY;
	}
	opts.prog_fd = opts.prog_id = opts.flags = 0;
	err = bpf_tc_detach(&hook, &opts);
	if (err) {
		log_warnx("detach TC egress on %s: %s", ifname, strerror(-err));
		return err;
	}
	log_info("detached TC egress on %s", ifname);
	return 0;
}

int cgroup2_root(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER" */
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(buf, len, "%s", mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int link_pin_path(char *buf, size_t len, const char *pin_dir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", pin_dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* Point an existing pinned link at prog_fd if it serves this cgroup. */
static int link_reuse(const char *path, __u64 cgroup_id, int prog_fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), err;

	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err || info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != cgroup_id) {
		close(fd);
		return -ESTALE;
	}
	err = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	return err ? -errno : 0;
}

int cgroup_attach(const char *cgroup, int prog_fd, enum bpf_attach_type type,
		  const char *pin_dir, const char *link_name)
{
	char path[PATH_MAX];
	struct stat st;
	int cg_fd, fd, err;

	err = link_pin_path(path, sizeof(path), pin_dir, link_name);
	if (err)
		return err;
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		err = -errno;
		log_warn("open cgroup %s", cgroup);
		goto out;
	}
	/* On cgroup v2 a cgroup's id is its directory's inode number. */
	err = link_reuse(path, st.st_ino, prog_fd);
	if (err == 0) {
		log_info("took over %s on %s", link_name, cgroup);
		goto out;
	}
	if (err == -ESTALE && unlink(path) == 0)
		log_info("replaced %s, which served another cgroup", link_name);
	fd = bpf_link_create(prog_fd, cg_fd, type, NULL);
	if (fd < 0) {
		err = -errno;
		log_warn("attach %s to %s", link_name, cgroup);
		goto out;
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (err)
		log_warnx("pin sock_ops link at %s: %s", path, strerror(-err));
	else
		log_info("attached %s on %s", link_name, cgroup);
out:
	if (cg_fd >= 0)
		close(cg_fd);
	return err;
}

int cgroup_detach(const char *pin_dir, const char *link_name)
{
	char path[PATH_MAX];
	int err = link_pin_path(path, sizeof(path), pin_dir, link_name);

	if (err)
		return err;
	if (unlink(path)) {
		if (errno == ENOENT)
			return -ENOENT;
		log_warn("remove %s", path);
		return -errno;
	}
	log_info("detached %s", link_name);
	return 0;
}
