/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The whole contract between sluice's BPF programs and its user-space tools.
 *
 * Every struct here is a map key or value. Fixed-width types only, explicit
 * padding, and a size check on each, so that the BPF object, sluiced and
 * sluicectl agree byte for byte. Any change to a layout bumps
 * SLUICE_ABI_VERSION: a daemon refuses to adopt pinned maps of another
 * version instead of silently reinterpreting them.
 *
 * Ownership (one writer per field):
 *   user space writes  sluice_config, sluice_policy, sluice_dest_ctl
 *   BPF writes         sluice_dest, sluice_signals, sluice_stats, sluice_sk
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SLUICE_ABI_VERSION 5

/* Map names: at most 15 characters, also used as pin file names. */
#define SLUICE_MAP_CONFIG   "sluice_config"
#define SLUICE_MAP_POLICY   "sluice_policy"
#define SLUICE_MAP_DEST     "sluice_dest"
#define SLUICE_MAP_DEST_CTL "sluice_dest_ctl"
#define SLUICE_MAP_SIGNALS  "sluice_signals"
#define SLUICE_MAP_STATS    "sluice_stats"
#define SLUICE_MAP_EVENTS   "sluice_events"
#define SLUICE_MAP_CLASSIFY "sluice_classify"
#define SLUICE_MAP_CHANGED  "sluice_changed"

/* sluice_changed, a ring of the addresses whose signals moved: 4 MiB holds
 * about 170,000 announcements, one per destination and interval. */
#define SLUICE_CHANGED_BYTES (4U << 20)

#define SLUICE_PIN_DIR_DEFAULT "/sys/fs/bpf/sluice"

#define SLUICE_POLICY_MAX_DEFAULT 4096
#define SLUICE_DEST_MAX_DEFAULT   65536

/*
 * An address, IPv4 or IPv6, in network byte order. IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d) so that one trie and one table serve both
 * families and an IPv4 /24 is an IPv6 /120.
 */
struct sluice_addr {
	__u32 w[4];
};
_Static_assert(sizeof(struct sluice_addr) == 16, "sluice_addr layout");

/* Key of the policy trie (BPF_MAP_TYPE_LPM_TRIE). */
struct sluice_lpm_key {
	__u32 prefixlen; /* 0..128, IPv4 prefixes are 96 + len */
	struct sluice_addr addr;
};
_Static_assert(sizeof(struct sluice_lpm_key) == 20, "sluice_lpm_key layout");

enum sluice_mode {
	SLUICE_MODE_ENFORCE = 0, /* mark and drop */
	SLUICE_MODE_MONITOR = 1, /* count what would be done, never act */
};

enum sluice_policy_flags {
	SLUICE_POLICY_F_CONFIG = 1 << 0, /* came from the config file */
};

/* Controllers (part of the policy so that a policy names its own law). */
enum sluice_controller {
	SLUICE_CTRL_STATIC = 0,   /* the rate is what the operator set */
	SLUICE_CTRL_AIMD = 1,     /* additive increase, cut on loss */
	SLUICE_CTRL_GRADIENT = 2, /* delay gradient with loss, ECN, rwnd: default */
	SLUICE_CTRL_MAX,
};

/* What the datapath does when the daemon's lease lapses. */
enum sluice_fail_mode {
	SLUICE_FAIL_CLOSED = 0, /* keep the last rates */
	SLUICE_FAIL_OPEN = 1,   /* stop limiting */
};

/* Circuit breaker states, per destination. */
enum sluice_breaker {
	SLUICE_BREAKER_CLOSED = 0,
	SLUICE_BREAKER_OPEN = 1,      /* new connects fail fast, but probes */
	SLUICE_BREAKER_HALF_OPEN = 2, /* probes decide */
};

/*
 * A policy: the limit applied to each destination inside a prefix.
 * Written by sluiced and sluicectl. Each destination gets its own bucket
 * at this rate; the policy itself holds no state.
 */
struct sluice_policy {
	__u64 rate_Bps;    /* bytes per second on the wire; 0 passes nothing */
	__u64 min_Bps;     /* floor an adaptive controller never goes below */
	__u64 max_Bps;     /* ceiling, 0 = rate_Bps */
	__u32 burst_bytes; /* bucket depth: backlog beyond it is dropped */
	__u32 mark_thresh; /* backlog bytes beyond which ECN-capable packets get CE */
	__u32 id;          /* stable id, names the policy in dest entries */
	__u16 mode;        /* enum sluice_mode */
	__u16 flags;       /* enum sluice_policy_flags */
	__u8 controller;   /* enum sluice_controller */
	__u8 fail_mode;    /* enum sluice_fail_mode */
	__u8 pad[6];
};
_Static_assert(sizeof(struct sluice_policy) == 48, "sluice_policy layout");

/* Why a control value is what it is; carried in dest_ctl and in events. */
enum sluice_reason {
	SLUICE_REASON_NONE = 0,
	SLUICE_REASON_POLICY,      /* the policy's own values */
	SLUICE_REASON_PROBE,       /* raised: no pressure and demand for more */
	SLUICE_REASON_HOLD,        /* kept: no pressure, but not using what it has */
	SLUICE_REASON_DELAY,       /* cut: queueing delay above target */
	SLUICE_REASON_LOSS,        /* cut: retransmissions */
	SLUICE_REASON_RTO,         /* cut: retransmission timeout */
	SLUICE_REASON_ECN,         /* cut: congestion experienced echoed */
	SLUICE_REASON_RWND,        /* cut: the receiver is not reading */
	SLUICE_REASON_FLOOR,       /* held at the policy's floor */
	SLUICE_REASON_CEILING,     /* held at the policy's ceiling */
	SLUICE_REASON_CONNECT_FAIL,/* breaker: consecutive failed connects */
	SLUICE_REASON_TIMEOUTS,    /* breaker: consecutive timeouts */
	SLUICE_REASON_FAIL_RATIO,  /* breaker: too many failures in the window */
	SLUICE_REASON_SATURATED,   /* breaker: pressure pinned at 1 at the floor */
	SLUICE_REASON_PROBES_OK,   /* breaker: half-open probes succeeded */
	SLUICE_REASON_PROBES_FAILED,
	SLUICE_REASON_COOLDOWN,    /* breaker: open time over, probing */
	SLUICE_REASON_CAP,         /* breaker: too many destinations open */
	SLUICE_REASON_PRESSURE,    /* ladder: pressure moved it */
	SLUICE_REASON_LEASE,       /* the daemon's lease lapsed */
	SLUICE_REASON_ALIVE,       /* breaker: a probe got through while open */
	SLUICE_REASON_HEADROOM,    /* held below the path: critical traffic shares it */
	SLUICE_REASON_DRAIN,       /* below the path for two intervals: its RTT without a queue */
	SLUICE_REASON_WATCH,       /* kept: pressure shows; a cut waits until it stands */
	SLUICE_REASON_PATH,        /* restored: cuts did not shorten the RTT, the path is longer */
	SLUICE_REASON_MAX,
};

/*
 * Priority classes. Each destination's rate is shared among them: a class
 * is guaranteed its share and borrows what other classes leave idle. Under
 * pressure the degradation ladder takes borrowing and then guarantees
 * away, scavenger first, so that critical traffic keeps flowing.
 */
enum sluice_class {
	SLUICE_CLASS_CRITICAL = 0,
	SLUICE_CLASS_DEFAULT = 1,
	SLUICE_CLASS_SHEDDABLE = 2,
	SLUICE_CLASS_SCAVENGER = 3,
	SLUICE_CLASSES = 4,
};

/*
 * A per-destination override of the policy's control values, written by
 * the daemon's controller (and by an operator pinning one address). Never
 * evicted: it is a plain hash, bounded by the destination table size.
 */
struct sluice_dest_ctl {
	__u64 rate_Bps;
	__u32 burst_bytes;
	__u32 mark_thresh;
	__u32 cwnd_clamp;     /* segments in flight to the destination, 0 = none;
			       * each connection gets its share of them */
	__u16 pressure_milli; /* 0..1000; shown, not acted on by BPF */
	__u8 breaker;         /* enum sluice_breaker */
	__u8 ladder;          /* degradation step, 0 = none */
	__u64 probe_gap_ns;   /* breaker not closed: one new connect per gap */
	__u32 reason;         /* enum sluice_reason of the last change */
	/* Percent of the rate each class's connections pace at, from what
	 * each class uses (a class that uses less than its share lends the
	 * rest); all 0: by the shares alone (sluice/classes.h). */
	__u8 class_pct[SLUICE_CLASSES];
};
_Static_assert(sizeof(struct sluice_dest_ctl) == 40, "sluice_dest_ctl layout");

/* What a packet or socket is classified by (sluice_classify keys). */
enum sluice_classify_kind {
	SLUICE_CLASSIFY_DSCP = 1,   /* value: DSCP 0..63 */
	SLUICE_CLASSIFY_MARK = 2,   /* value: socket/packet mark */
	SLUICE_CLASSIFY_CGROUP = 4, /* value: cgroup v2 id */
};

/* Key of sluice_classify (BPF_MAP_TYPE_HASH, value: __u32 enum sluice_class),
 * written by sluiced from the config. The cgroup wins over the mark, the
 * mark over the DSCP; what matches nothing is default. */
struct sluice_class_key {
	__u32 kind;  /* one enum sluice_classify_kind */
	__u32 pad;
	__u64 value;
};
_Static_assert(sizeof(struct sluice_class_key) == 16, "sluice_class_key layout");

/*
 * Global settings, one entry. ctl_gen moves whenever any control value
 * (policy or override) changes; each destination caches its control values
 * with the generation it read them at and re-reads when they differ. That
 * keeps the per-packet path at one hash lookup.
 */
struct sluice_config {
	__u32 abi_version; /* stays the first field in every version */
	__u32 flags;
	__u64 ctl_gen;
	__u64 lease_expires_ns; /* CLOCK_MONOTONIC; 0 = no lease */
	__u32 next_policy_id;   /* ids only grow */
	__u32 pad;
	__u64 event_seq;        /* last event written to sluice_events */
	__u8 class_share_pct[SLUICE_CLASSES]; /* guaranteed shares; all 0 = no classes */
	__u32 classify_kinds;   /* enum sluice_classify_kind bits present in sluice_classify */
	/* While critical traffic shares a destination with a lower class, its
	 * rate stays this many percent below what fills the path (0: not). */
	__u8 critical_headroom_pct;
	__u8 pad2[7];
	/* sluiced moves it each interval before it reads: a destination's
	 * signals are announced in sluice_changed once per generation. */
	__u64 signal_gen;
};
_Static_assert(sizeof(struct sluice_config) == 64, "sluice_config layout");

enum sluice_dest_flags {
	SLUICE_DEST_F_MATCHED = 1 << 0, /* a policy covers this destination */
	SLUICE_DEST_F_OVERRIDE = 1 << 1, /* control values come from dest_ctl */
};

/*
 * Per-destination state (BPF_MAP_TYPE_LRU_HASH keyed by sluice_addr),
 * written only by BPF. The bucket is kept as a virtual time (GCRA): tat
 * is when the bytes admitted so far will have drained at rate_Bps, in
 * ticks of 1/16 ns (bucket.h). The backlog is tat - now; it is admitted up
 * to burst, marked past mark.
 * One 64-bit word of state means one compare-and-swap per packet, so CPUs
 * sharing a bucket can neither lose nor double tokens.
 */
/*
 * What a packet is, to the bucket. Over the rate, it drops bulk TCP data
 * and other traffic; it spares TCP control (SYN, FIN, RST, pure ACKs: a
 * drop stalls a connection for an RTO and saves next to nothing) and the
 * data of light connections (requests and responses) while bulk ones to
 * the same destination can be slowed instead: the room they take is
 * charged to the bucket all the same, so bulk traffic pays for it.
 */
enum sluice_kind {
	SLUICE_KIND_BULK = 0,  /* TCP data of a bulk connection, or of no known one */
	SLUICE_KIND_LIGHT,     /* TCP data of a light connection */
	SLUICE_KIND_CONTROL,   /* TCP without data, or with SYN, FIN or RST */
	SLUICE_KIND_OTHER,     /* not TCP */
	SLUICE_KINDS,
};

struct sluice_dest {
	/* bucket, hot on every packet */
	__u64 tat;             /* ticks */
	__u64 ns_per_byte_q16; /* 2^16 * 1e9 / rate_Bps, 0 when rate is 0 */
	__u64 burst_ticks;
	__u64 mark_ticks;
	/* control values cached from policy or override, at ctl_gen */
	__u64 ctl_gen;
	__u64 rate_Bps;
	__u32 burst_bytes;
	__u32 mark_thresh;
	__u32 policy_id;
	__u32 cwnd_clamp;
	__u16 mode;
	__u16 flags;     /* enum sluice_dest_flags */
	__u8 breaker;    /* enum sluice_breaker, from dest_ctl */
	__u8 ladder;
	__u8 fail_mode;  /* enum sluice_fail_mode, from the policy */
	__u8 pad;
	__u64 last_ns;   /* last packet seen */
	__u64 probe_gap_ns;
	__u64 connect_tat;    /* ticks; admits probe connects while the breaker is not closed */
	__u64 connects_refused;
	/* counters */
	__u64 passed_pkts;  /* includes the marked ones */
	__u64 passed_bytes; /* bytes on the wire */
	__u64 marked_pkts;
	__u64 marked_bytes;
	__u64 dropped_pkts;
	__u64 dropped_bytes;
	/* per class: the guaranteed-share bucket (ticks) and what it passed */
	__u64 class_tat[SLUICE_CLASSES];
	__u64 class_passed_bytes[SLUICE_CLASSES];
	__u64 class_dropped_bytes[SLUICE_CLASSES];
	__u8 class_pct[SLUICE_CLASSES]; /* from dest_ctl */
	__u8 pad2[4];
	/* by enum sluice_kind: what the bucket dropped and marked, and what
	 * it passed although over the rate (spared: kinds it never drops) */
	__u64 kind_dropped_pkts[SLUICE_KINDS];
	__u64 kind_marked_pkts[SLUICE_KINDS];
	__u64 kind_spared_pkts[SLUICE_KINDS];
};
_Static_assert(sizeof(struct sluice_dest) == 352, "sluice_dest layout");

#define SLUICE_BUSY_EPOCH_NS 100000000ULL /* 100 ms */
#define SLUICE_BULK_USE      4 /* bulk: used at least 1/4 of its pacing rate */

/* RTT histogram: log-linear, 4 sub-buckets per power of two, from 1 us. */
#define SLUICE_RTT_SUB_BITS 2
#define SLUICE_RTT_BUCKETS  96

/*
 * Per-destination TCP signals (BPF_MAP_TYPE_LRU_HASH keyed by sluice_addr),
 * written by the sock_ops program. All counters are cumulative: the daemon
 * reads them each interval and works on the differences.
 */
struct sluice_signals {
	__u64 rtt_samples;
	__u64 rtt_sum_us;
	__u64 bytes_acked;
	__u64 retrans;        /* retransmitted segments */
	__u64 rtos;           /* retransmission timeouts */
	__u64 connects;       /* active opens attempted */
	__u64 connect_fails;  /* SYN_SENT straight to CLOSE (refused, timed out) */
	__u64 conns_opened;   /* connects that reached ESTABLISHED */
	__u64 conns_closed;
	__u32 conns_active;   /* established now */
	__u32 rtt_last_us;
	/*
	 * Connections that had data acknowledged in the current and in the
	 * previous busy epoch (SLUICE_BUSY_EPOCH_NS). A destination's rate is
	 * shared among its busy connections, so an idle control connection
	 * does not take a share it never uses; and among the bulk ones of
	 * them (bulk_*, below) first, so a light one does not either.
	 */
	__u64 busy_epoch;
	__u32 busy_now;
	__u32 busy_prev;
	__u32 class_busy_now[SLUICE_CLASSES];
	__u32 class_busy_prev[SLUICE_CLASSES];
	/* What the receiver says (from tcp_sock): */
	__u64 delivered_pkts;  /* segments delivered */
	__u64 delivered_ce;    /* of them, echoed as CE-marked (ECN) */
	__u64 rwnd_limited_us; /* time senders were limited by the receive window */
	__u64 zero_wnd_acks;   /* ACKs that closed the receive window */
	__u64 class_bytes_acked[SLUICE_CLASSES]; /* bytes_acked by class */
	__u32 rtt_hist[SLUICE_RTT_BUCKETS];
	/*
	 * Of the busy connections, the bulk ones: those that used at least
	 * 1/SLUICE_BULK_USE of their pacing rate in their last busy epoch (and
	 * those not paced yet). The rate is split among these; a light one
	 * (a ping-pong, an RPC, a health check beside a bulk transfer) paces
	 * at the split among all the busy ones, which it uses little of.
	 */
	__u32 bulk_now;
	__u32 bulk_prev;
	__u32 class_bulk_now[SLUICE_CLASSES];
	__u32 class_bulk_prev[SLUICE_CLASSES];
	/* sluice_config.signal_gen when this entry was last announced in
	 * sluice_changed: written by BPF only. */
	__u64 announced_gen;
};
_Static_assert(sizeof(struct sluice_signals) == 240 + SLUICE_RTT_BUCKETS * 4,
	       "sluice_signals layout");

enum sluice_event_kind {
	SLUICE_EV_RATE = 1,    /* old/new: bytes per second */
	SLUICE_EV_BREAKER = 2, /* old/new: enum sluice_breaker */
	SLUICE_EV_LADDER = 3,  /* old/new: degradation step */
};

#define SLUICE_EVENTS_MAX 1024

/*
 * The decision log (BPF_MAP_TYPE_ARRAY used as a ring, written by sluiced):
 * slot seq % SLUICE_EVENTS_MAX holds event seq. Every rate change,
 * breaker transition and ladder step, with its reason and the signals
 * that led to it. A reader follows it by sequence number.
 */
struct sluice_event {
	__u64 seq;             /* 0 = empty slot */
	__u64 time_ns;         /* CLOCK_REALTIME */
	struct sluice_addr addr;
	__u32 kind;            /* enum sluice_event_kind */
	__u32 reason;          /* enum sluice_reason */
	__u64 old_value;
	__u64 new_value;
	__u32 pressure_milli;
	__u32 rtt_us;          /* low (10th) percentile RTT over the interval */
	__u32 base_rtt_us;     /* the path's RTT without queueing */
	__u32 loss_permille;
	__u64 delivered_Bps;
};
_Static_assert(sizeof(struct sluice_event) == 80, "sluice_event layout");

/* Global counters (BPF_MAP_TYPE_PERCPU_ARRAY), one slot each. */
enum sluice_stat {
	SLUICE_STAT_PKTS = 0,     /* packets seen at TC egress */
	SLUICE_STAT_UNPARSED,     /* not IPv4/IPv6, or truncated: passed */
	SLUICE_STAT_UNMATCHED,    /* no policy: passed */
	SLUICE_STAT_DEST_NEW,     /* destination entries created */
	SLUICE_STAT_DEST_ERR,     /* could not create an entry: passed */
	SLUICE_STAT_PACED,        /* pacing rates set on sockets */
	SLUICE_STAT_SIG_ERR,      /* could not create a signals entry */
	SLUICE_STAT_CLAMPED,      /* cwnd clamps set on sockets */
	SLUICE_STAT_CONNECT_REFUSED, /* connects failed fast by an open breaker */
	SLUICE_STAT_CHANGED_LOST, /* announcements sluice_changed had no room for */
	SLUICE_STAT_MAX,
};

/* Per-socket state (BPF_MAP_TYPE_SK_STORAGE), BPF only. */
struct sluice_sk {
	struct sluice_addr dst;
	__u64 last_bytes_acked;
	__u32 last_total_retrans;
	__u32 pacing_Bps;  /* last SO_MAX_PACING_RATE set, 0 = never set */
	__u32 cwnd_clamp;  /* last clamp set */
	__u8 counted;      /* counted in conns_active */
	__u8 pad[3];
	__u64 busy_epoch;  /* last epoch this socket was counted busy in */
	__u32 last_delivered;
	__u32 last_delivered_ce;
	__u32 last_rwnd_jiffies;
	__u8 cls;          /* enum sluice_class */
	__u8 bulk;         /* counted bulk in its busy epoch */
	__u8 pad2[2];
	__u32 epoch_bytes; /* acked in its busy epoch */
	__u32 pad3;
};
_Static_assert(sizeof(struct sluice_sk) == 72, "sluice_sk layout");

#endif /* SLUICE_ABI_H */
