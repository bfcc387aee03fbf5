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
#include "sluiced/pins.h"

static int iface_index(const char *ifname)
{
	unsigned int idx = if_nametoindex(ifname);

	if (!idx) {
		log_warnx("no interface '%s'", ifname);
		return -ENODEV;
	}
	return (int)idx;
}

/* The name and id of the program a TC filter runs, "" and 0 when none. */
static void prog_identity(__u32 prog_id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = prog_id ? bpf_prog_get_fd_by_id(prog_id) : -1;

	snprintf(name, len, "%s", "");
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0)
		snprintf(name, len, "%.*s", (int)sizeof(info.name), info.name);
	close(fd);
}

/*
 * What holds our place on a clsact egress hook: TC_OURS, TC_FOREIGN (an
 * eBPF program of another name, described in who), or TC_NOT_EBPF: no
 * filter, no clsact, or a filter without a program id (classic BPF, or
 * another kind at our priority); bpf_tc_query cannot tell these apart,
 * so tc_attach lets the kernel's EEXIST tell, never replacing them.
 */
enum { TC_OURS, TC_FOREIGN, TC_NOT_EBPF };

static int tc_holder(struct bpf_tc_hook *hook, const struct tc_place *at, char *who,
		     size_t len)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = at->handle, .priority = at->priority);
	char name[BPF_OBJ_NAME_LEN];
	libbpf_print_fn_t print;
	int err;

	/* A place that holds nothing is the common answer, not a warning:
	 * keep libbpf from relaying the kernel's words for it. */
	print = libbpf_set_print(NULL);
	err = bpf_tc_query(hook, &opts);
	libbpf_set_print(print);

	if (err == -ENOENT || err == -EINVAL)
		return TC_NOT_EBPF;
	if (err)
		return err;
	prog_identity(opts.prog_id, name, sizeof(name));
	if (!strcmp(name, SLUICE_TC_PROG_NAME))
		return TC_OURS;
	snprintf(who, len, "program '%s' (id %u)", name, opts.prog_id);
	return TC_FOREIGN;
}

int tc_is_ours(const char *ifname, const struct tc_place *at)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	int idx = iface_index(ifname), holder;
	char who[128];

	if (idx < 0)
		return idx;
	hook.ifindex = idx;
	holder = tc_holder(&hook, at, who, sizeof(who));
	if (holder < 0)
		return holder;
	return holder == TC_OURS;
}

static void log_foreign(const char *ifname, const struct tc_place *at, const char *who)
{
	log_warnx("TC egress on %s at prio 0x%x handle 0x%x holds %s, not sluice's; left "
		  "alone (tc_priority and tc_handle in [sluice] pick another place)",
		  ifname, at->priority, at->handle, who);
}

int tc_attach(const char *ifname, int prog_fd, const struct tc_place *at, bool *found)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = at->handle, .priority = at->priority,
			    .prog_fd = prog_fd);
	int idx = iface_index(ifname), holder, err;
	char who[128];

	*found = false;
	if (idx < 0)
		return idx;
	hook.ifindex = idx;
	holder = tc_holder(&hook, at, who, sizeof(who));
	if (holder < 0) {
		log_warnx("query TC egress on %s: %s", ifname, strerror(-holder));
		return holder;
	}
	if (holder == TC_FOREIGN) {
		log_foreign(ifname, at, who);
		return -EBUSY;
	}
	*found = holder == TC_OURS;
	/* Ours from a previous run is replaced in place, so enforcement has
	 * no gap. Anything else is attached without REPLACE: the kernel then
	 * refuses to overwrite a filter at our place (EEXIST), or one of
	 * another kind at our priority (EINVAL). */
	opts.flags = *found ? BPF_TC_F_REPLACE : 0;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_warnx("create clsact on %s: %s", ifname, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err == -EEXIST || (err == -EINVAL && !*found)) {
		log_foreign(ifname, at, err == -EEXIST ? "a filter that is not an eBPF program" :
					"a filter of another kind at that priority");
		return -EBUSY;
	}
	if (err) {
		log_warnx("attach TC egress on %s: %s", ifname, strerror(-err));
		return err;
	}
	log_info("%s TC egress on %s (prio 0x%x handle 0x%x)", *found ? "took over" : "attached",
		 ifname, at->priority, at->handle);
	return 0;
}

int tc_detach(const char *ifname, const struct tc_place *at)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = at->handle, .priority = at->priority);
	int idx = iface_index(ifname), holder, err;
	char who[128];

	if (idx < 0)
		return idx;
	hook.ifindex = idx;
	holder = tc_holder(&hook, at, who, sizeof(who));
	if (holder < 0)
		return holder;
	if (holder == TC_NOT_EBPF)
		return -ENOENT;
	if (holder == TC_FOREIGN) {
		log_warnx("TC egress on %s at prio 0x%x handle 0x%x holds %s; left alone",
			  ifname, at->priority, at->handle, who);
		return -EBUSY;
	}
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

/* The cgroup v2 id of a directory: its inode number. 0 or -errno. */
static int cgroup_id_of(const char *cgroup, __u64 *id)
{
	struct stat st;

	if (stat(cgroup, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

/* Open the pinned link at path if it is a cgroup link serving cgroup_id:
 * its fd, -ESTALE when it serves something else, or -errno. */
static int link_open_serving(const char *path, __u64 cgroup_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_CGROUP ||
	    info.cgroup.cgroup_id != cgroup_id) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

bool cgroup_link_serves(const char *pin_dir, const char *link_name, const char *cgroup)
{
	char path[PATH_MAX];
	__u64 id = 0;
	int fd;

	if (link_pin_path(path, sizeof(path), pin_dir, link_name) || cgroup_id_of(cgroup, &id))
		return false;
	fd = link_open_serving(path, id);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int cgroup_attach(const char *cgroup, int prog_fd, enum bpf_attach_type type,
		  const char *pin_dir, const char *link_name, bool *found)
{
	char path[PATH_MAX];
	__u64 id = 0;
	int cg_fd = -1, fd, err;

	*found = false;
	err = link_pin_path(path, sizeof(path), pin_dir, link_name);
	if (!err)
		err = cgroup_id_of(cgroup, &id);
	if (err) {
		log_warnx("cgroup %s: %s", cgroup, strerror(-err));
		return err;
	}
	fd = link_open_serving(path, id);
	if (fd >= 0) {
		/* Ours from a previous run: point it at our program, in place. */
		err = bpf_link_update(fd, prog_fd, NULL) ? -errno : 0;
		close(fd);
		if (err)
			log_warnx("take over %s on %s: %s", link_name, cgroup, strerror(-err));
		else
			log_info("took over %s on %s", link_name, cgroup);
		*found = !err;
		return err;
	}
	if (fd == -ESTALE && pin_remove(pin_dir, link_name) == 0)
		log_info("replaced %s, which served another cgroup", link_name);
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		log_warn("open cgroup %s", cgroup);
		return err;
	}
	fd = bpf_link_create(prog_fd, cg_fd, type, NULL);
	if (fd < 0) {
		err = -errno;
		log_warn("attach %s to %s", link_name, cgroup);
		goto out;
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (err)
		log_warnx("pin cgroup link at %s: %s", path, strerror(-err));
	else
		log_info("attached %s on %s", link_name, cgroup);
out:
	close(cg_fd);
	return err;
}

int cgroup_detach(const char *pin_dir, const char *link_name)
{
	int err = pin_remove(pin_dir, link_name);

	if (err)
		return err;
	log_info("detached %s", link_name);
	return 0;
}
