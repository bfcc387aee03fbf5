// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluiced/decision_log.h"

__u64 decision_log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int decision_log_append(int events_fd, __u64 *seq, struct sluice_event *ev)
{
	__u32 slot;

	ev->seq = *seq + 1;
	if (!ev->time_ns)
		ev->time_ns = decision_log_now_ns();
	slot = (__u32)(ev->seq % SLUICE_EVENTS_MAX);
	if (bpf_map_update_elem(events_fd, &slot, ev, BPF_ANY)) {
		int err = -errno;

		log_warn("write event %llu: %s", (unsigned long long)ev->seq, strerror(-err));
		return err;
	}
	*seq = ev->seq;
	return 0;
}

void decision_log_print(const struct sluice_event *ev, double pressure)
{
	char a[SLUICE_ADDR_STRLEN], r1[32], r2[32];

	format_addr(a, sizeof(a), &ev->addr);
	if (ev->kind == SLUICE_EV_RATE)
		log_info("%s: rate %s -> %s: %s (pressure %.2f, rtt %u us, base %u us)", a,
			 format_rate(r1, sizeof(r1), ev->old_value),
			 format_rate(r2, sizeof(r2), ev->new_value), reason_text(ev->reason),
			 pressure, ev->rtt_us, ev->base_rtt_us);
	else if (ev->kind == SLUICE_EV_BREAKER)
		log_info("%s: breaker %s -> %s: %s", a, breaker_name((__u8)ev->old_value),
			 breaker_name((__u8)ev->new_value), reason_text(ev->reason));
	else
		log_info("%s: ladder step %llu -> %llu (pressure %.2f)", a,
			 (unsigned long long)ev->old_value, (unsigned long long)ev->new_value,
			 pressure);
}
