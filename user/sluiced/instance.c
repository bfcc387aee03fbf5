// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "sluiced/instance.h"

/*
 * The lock file's name says which pin directory it guards, readably:
 * "/sys/fs/bpf/sluice" becomes "sys-fs-bpf-sluice.lock" (systemd's
 * escaping: '/' is '-', and '-' and every byte that is not a letter, a
 * digit, '_' or '.' is \xNN, so two pin directories never share a file).
 */
static int lock_path(char *buf, size_t len, const char *run_dir, const char *pin_dir)
{
	size_t n;
	const char *s = pin_dir;
	int w;

	while (*s == '/')
		s++;
	w = snprintf(buf, len, "%s/", run_dir);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	n = (size_t)w;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int k;

		if (ch == '/')
			k = snprintf(buf + n, len - n, "-");
		else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')
			k = snprintf(buf + n, len - n, "%c", ch);
		else
			k = snprintf(buf + n, len - n, "\\x%02x", ch);
		if (k < 0 || (size_t)k >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)k;
	}
	if (snprintf(buf + n, len - n, ".lock") >= (int)(len - n))
		return -ENAMETOOLONG;
	return 0;
}

/* The pid the holder wrote, or 0 when it has not written one yet. */
static long holder_pid(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Is fd still the file at path? A lock taken on a file that its holder
 * removed in the meantime guards nothing. */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int instance_lock(const char *run_dir, const char *pin_dir, long *holder)
{
	char path[PATH_MAX], pid[32];
	int fd, err, len, tries;

	*holder = 0;
	err = lock_path(path, sizeof(path), run_dir, pin_dir);
	if (err)
		return err;
	if (mkdir(run_dir, 0755) && errno != EEXIST) {
		err = -errno;
		log_warn("create %s", run_dir);
		return err;
	}
	for (tries = 0; tries < 10; tries++) {
		/* O_NOFOLLOW: a link planted in the run directory is not ours. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			err = -errno;
			log_warn("open %s", path);
			return err;
		}
		/* The kernel drops the lock with the process, however it
		 * ends: a daemon killed with SIGKILL leaves no stale lock. */
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EEXIST : -errno;
			if (err == -EEXIST)
				*holder = holder_pid(fd);
			else
				log_warn("lock %s", path);
			close(fd);
			return err;
		}
		if (still_linked(fd, path))
			break;
		close(fd); /* its holder removed it as we opened it: again */
		fd = -1;
	}
	if (fd < 0)
		return -EAGAIN;
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len)
		log_warn("write pid to %s", path);
	return fd;
}

void instance_unlock(int fd, const char *run_dir, const char *pin_dir)
{
	char path[PATH_MAX];

	if (fd < 0)
		return;
	/* Removed while still locked: a starter that opened the old file
	 * finds it unlinked once it has the lock, and tries again. */
	if (lock_path(path, sizeof(path), run_dir, pin_dir) == 0 && still_linked(fd, path) &&
	    unlink(path))
		log_warn("remove %s", path);
	close(fd);
}
