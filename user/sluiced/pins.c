// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/log.h"
#include "sluiced/pins.h"

#define BPF_FS_MAGIC 0xcafe4a11

int pin_dir_open(const char *pin_dir)
{
	struct statfs sfs;
	int fd, err;

	/* O_NOFOLLOW: a pin directory that is a symlink is refused, never
	 * followed to wherever it points. */
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;

		err = -errno;
		/* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link, too. */
		if ((err == -ENOTDIR || err == -ELOOP) && lstat(pin_dir, &st) == 0)
			err = S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
		if (err == -ELOOP)
			log_warnx("pin dir %s is a symlink; refusing to remove anything there",
				  pin_dir);
		else if (err == -ENOTDIR)
			log_warnx("pin dir %s is not a directory; refusing to remove anything "
				  "there", pin_dir);
		else if (err != -ENOENT)
			log_warn("open pin dir %s", pin_dir);
		return err;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		log_warnx("pin dir %s is not on a bpf file system; refusing to remove "
			  "anything there", pin_dir);
		close(fd);
		return -EXDEV;
	}
	return fd;
}

int pin_remove_at(int dir_fd, const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int obj;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	/* Through the open directory, so the path cannot be swapped under us
	 * for another one; the name itself is checked not to be a link,
	 * since BPF_OBJ_GET would follow it. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir_fd, name);
	obj = S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) ? -1 : bpf_obj_get(path);
	if (obj < 0) {
		log_warnx("left %s/%s in place: it is not a BPF object", pin_dir, name);
		return -EPERM;
	}
	close(obj);
	if (unlinkat(dir_fd, name, 0)) {
		int err = -errno;

		log_warn("remove %s/%s", pin_dir, name);
		return err;
	}
	return 0;
}

int pin_remove_names(int dir_fd, const char *pin_dir, const char *const *names, size_t n)
{
	int err = 0, e;
	size_t i;

	for (i = 0; i < n; i++) {
		e = pin_remove_at(dir_fd, pin_dir, names[i]);
		if (e && e != -ENOENT)
			err = err ? err : e;
	}
	return err;
}

int pin_remove(const char *pin_dir, const char *name)
{
	int fd = pin_dir_open(pin_dir), err;

	if (fd < 0)
		return fd;
	err = pin_remove_at(fd, pin_dir, name);
	close(fd);
	return err;
}

bool pin_present(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >= (int)sizeof(path))
		return false;
	return lstat(path, &st) == 0;
}
