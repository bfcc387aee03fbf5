// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "lib/reason.h"

static const struct {
	const char *name;
	const char *text;
} reasons[SLUICE_REASON_MAX] = {
	[SLUICE_REASON_NONE] = { "none", "no decision yet" },
	[SLUICE_REASON_POLICY] = { "policy", "the policy's own values" },
	[SLUICE_REASON_PROBE] = { "probe", "raised: no pressure and demand for more" },
	[SLUICE_REASON_HOLD] = { "hold", "kept: no pressure, and not using what it has" },
	[SLUICE_REASON_DELAY] = { "delay", "cut: queueing delay above target" },
	[SLUICE_REASON_LOSS] = { "loss", "cut: retransmissions" },
	[SLUICE_REASON_RTO] = { "rto", "cut: retransmission timeout" },
	[SLUICE_REASON_ECN] = { "ecn", "cut: congestion experienced (ECN) echoed" },
	[SLUICE_REASON_RWND] = { "rwnd", "cut: the receiver is not reading" },
	[SLUICE_REASON_FLOOR] = { "floor", "held at the policy's floor" },
	[SLUICE_REASON_CEILING] = { "ceiling", "held at the policy's ceiling" },
	[SLUICE_REASON_CONNECT_FAIL] = { "connect_fail", "breaker: consecutive failed connects" },
	[SLUICE_REASON_TIMEOUTS] = { "timeouts", "breaker: consecutive retransmission timeouts" },
	[SLUICE_REASON_FAIL_RATIO] = { "fail_ratio", "breaker: too many failed connects" },
	[SLUICE_REASON_SATURATED] = { "saturated", "breaker: pressure pinned at 1 at the floor" },
	[SLUICE_REASON_PROBES_OK] = { "probes_ok", "breaker: probe connects succeeded" },
	[SLUICE_REASON_PROBES_FAILED] = { "probes_failed", "breaker: probe connects failed" },
	[SLUICE_REASON_COOLDOWN] = { "cooldown", "breaker: open time over, probing" },
	[SLUICE_REASON_ALIVE] = { "alive", "breaker: a probe got through while open, probing" },
	[SLUICE_REASON_CAP] = { "cap", "breaker: a third of the policy's destinations are open" },
	[SLUICE_REASON_PRESSURE] = { "pressure", "ladder: moved by pressure" },
	[SLUICE_REASON_LEASE] = { "lease", "the daemon's lease lapsed" },
	[SLUICE_REASON_HEADROOM] = { "headroom",
				     "held below the path's capacity: critical traffic shares it" },
	[SLUICE_REASON_DRAIN] = { "drain",
				  "drain: below the path for two intervals, to see its RTT without a queue" },
	[SLUICE_REASON_WATCH] = { "watch", "kept: pressure shows; a cut waits until it stands" },
	[SLUICE_REASON_PATH] = { "path",
				 "restored: cuts did not shorten the RTT; the path is longer" },
};

const char *reason_name(__u32 reason)
{
	return reason < SLUICE_REASON_MAX && reasons[reason].name ? reasons[reason].name
								    : "unknown";
}

const char *reason_text(__u32 reason)
{
	return reason < SLUICE_REASON_MAX && reasons[reason].text ? reasons[reason].text
								    : "unknown";
}

const char *breaker_name(__u8 state)
{
	switch (state) {
	case SLUICE_BREAKER_CLOSED:
		return "closed";
	case SLUICE_BREAKER_OPEN:
		return "open";
	case SLUICE_BREAKER_HALF_OPEN:
		return "half-open";
	default:
		return "unknown";
	}
}

static const char *const controllers[SLUICE_CTRL_MAX] = {
	[SLUICE_CTRL_STATIC] = "static",
	[SLUICE_CTRL_AIMD] = "aimd",
	[SLUICE_CTRL_GRADIENT] = "gradient",
};

const char *controller_name(__u8 ctrl)
{
	return ctrl < SLUICE_CTRL_MAX ? controllers[ctrl] : "unknown";
}

int parse_controller(const char *s, __u8 *ctrl)
{
	__u8 i;

	for (i = 0; i < SLUICE_CTRL_MAX; i++) {
		if (!strcmp(s, controllers[i])) {
			*ctrl = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fail_mode_name(__u8 mode)
{
	return mode == SLUICE_FAIL_OPEN ? "open" : mode == SLUICE_FAIL_CLOSED ? "closed"
									      : "unknown";
}

int parse_fail_mode(const char *s, __u8 *mode)
{
	if (!strcmp(s, "open"))
		*mode = SLUICE_FAIL_OPEN;
	else if (!strcmp(s, "closed"))
		*mode = SLUICE_FAIL_CLOSED;
	else
		return -EINVAL;
	return 0;
}

const char *event_kind_name(__u32 kind)
{
	switch (kind) {
	case SLUICE_EV_RATE:
		return "rate";
	case SLUICE_EV_BREAKER:
		return "breaker";
	case SLUICE_EV_LADDER:
		return "ladder";
	default:
		return "unknown";
	}
}

static const char *const class_names[SLUICE_CLASSES] = {
	[SLUICE_CLASS_CRITICAL] = "critical",
	[SLUICE_CLASS_DEFAULT] = "default",
	[SLUICE_CLASS_SHEDDABLE] = "sheddable",
	[SLUICE_CLASS_SCAVENGER] = "scavenger",
};

const char *class_name(unsigned int cls)
{
	return cls < SLUICE_CLASSES ? class_names[cls] : "unknown";
}

int class_by_name(const char *name)
{
	int i;

	for (i = 0; i < SLUICE_CLASSES; i++)
		if (!strcmp(name, class_names[i]))
			return i;
	return -EINVAL;
}
