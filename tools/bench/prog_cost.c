// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of sluice's TC egress program, through BPF_PROG_TEST_RUN,
 * against an empty TC program (r0 = TC_ACT_UNSPEC; exit) in the same run.
 *
 * One skeleton is loaded per table size (1, 10^3, 10^4, 10^6 destinations);
 * each table is filled with entries whose cached control values carry the
 * current ctl_gen, so a packet to one of them takes the fast path: one hash
 * lookup, one bucket update, the counters. The rate is so high that a
 * packet costs under two nanoseconds of bucket time, so a packet repeated
 * millions of times is always admitted. Every run checks from the counters
 * that it was: all passed, none marked or dropped, no entry created.
 *
 * The cases, each compared with a baseline of the same shape:
 *
 *   clock       the empty program behind one bpf_ktime_get_ns() call: what
 *               the clock read costs on the machine at hand.
 *   sluice      a packet without a departure time (UDP, or TCP behind a
 *               filter that cleared it): the program reads the clock.
 *   sluice-tcp  a packet as TCP sends it, with its departure time in
 *               skb->tstamp (BPF_SKB_TSTAMP_DELIVERY_MONO). Test-run
 *               refuses that stamp type in its context, so a stamp program
 *               sets it (bpf_skb_set_tstamp, from the context's tstamp plus
 *               2 ns per repetition, so time moves on faster than the
 *               bucket fills) and tail-calls the program measured. Its
 *               baseline, empty-tcp, is the same stamp program tail-calling
 *               the empty one.
 *   unmatched   a packet to an address no policy covers.
 *   *-cycle     10^4 destinations active at once. Test-run repeats one
 *               packet, so a repeated run keeps one destination's entry in
 *               the cache; instead each round sends one packet (repeat 1)
 *               to each of 10^4 destinations in a new random order, so each
 *               packet finds an entry last touched 10^4 packets earlier.
 *               A run of one packet also costs the kernel's timer around
 *               it; the empty program's runs of the same shape carry that
 *               too, and only the difference is reported. The table holds
 *               exactly these 10^4 entries, at the default table size.
 *               unmatched-cycle sends to 10^4 addresses no policy covers.
 *
 * Rounds alternate the cases so that drift of the machine hits all of them
 * alike. Each round of a repeated case sends its packet to another
 * destination of its table.
 *
 *   prog_cost [-r REPEAT] [-n ROUNDS] [-c CYCLE] [-o RAW.tsv]
 *
 * stdout, one line per case, tab-separated:
 *   case dests median_ns min_ns max_ns kernel_ns valid base above_ns kernel_above_ns
 * median, min and max are ns per packet over the rounds; above_ns is the
 * median over the rounds of the difference to the baseline case "base" in
 * the same round. kernel_ns is run_time_ns / run_cnt from the kernel's BPF
 * statistics, the median of three runs in a separate pass (statistics
 * enabled through BPF_ENABLE_STATS, which the kernel undoes when the fd is
 * closed), or -1 when unavailable; kernel_above_ns is its difference to the
 * baseline's.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "sluice/abi.h"

#define ROUNDS_MAX    64
#define KERNEL_ROUNDS 3
#define CASES_MAX     16
#define RATE_BPS      1000000000000ULL /* 8 Tbit/s: a 1514-byte frame costs 1.5 ns */
#define BURST         (1U << 30)
#define PKT_LEN       1514
#define CTL_GEN       1
#define TC_UNSPEC     0xffffffffU /* TC_ACT_UNSPEC as test-run's retval */
#define STAMP_STEP_NS 2           /* what the stamp program adds per packet */
#define CYCLE_DEFAULT 10000

enum prog_kind {
	PROG_EMPTY,
	PROG_CLOCK,
	PROG_SLUICE,
};

struct bench_case {
	const char *name;
	__u32 dests;       /* entries in its table; a cycle case sends to each */
	enum prog_kind kind;
	int stamped;       /* the packet carries TCP's departure time */
	int unmatched;     /* send to addresses no policy covers */
	int cycle;         /* one packet to each destination per round */
	int base;          /* the case it is compared with */
	int table;         /* the case whose skeleton it shares, or -1 */
	int prog_fd;       /* what test-run runs */
	int inner_fd;      /* the program measured (behind the stamp program) */
	int prog_array_fd;
	int dest_fd;
	int stats_fd;
	struct sluice_bpf *skel;
	double ns[ROUNDS_MAX];
	double kernel_ns;
	int valid;
};

/* A cycle's order of destinations, reshuffled each round. */
static __u32 *order;
static __u32 cycle_len = CYCLE_DEFAULT;

static void addr_v4(struct sluice_addr *a, __u32 host_order)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = htonl(0x0000ffff);
	a->w[3] = htonl(host_order);
}

/* Destination i of a table: 10.0.0.0 + i. */
static __u32 dest_ip(__u32 i)
{
	return 0x0a000000U + i;
}

/* Address i that no policy covers: 192.0.0.0 + i, outside 10.0.0.0/8. */
static __u32 unmatched_ip(__u32 i)
{
	return 0xc0000000U + i;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* An Ethernet/IPv4/TCP frame of PKT_LEN bytes, TCP header with timestamps. */
static void build_packet(unsigned char *pkt, __u32 daddr)
{
	unsigned char *ip = pkt + 14, *tcp = ip + 20;
	__u16 tot_len = htons(PKT_LEN - 14), port_s = htons(40000), port_d = htons(5201);
	__u32 saddr = htonl(0xc6120002), dst = htonl(daddr); /* 198.18.0.2 */

	memset(pkt, 0, PKT_LEN);
	memset(pkt, 0x02, 12);
	pkt[12] = 0x08;	/* ETH_P_IP */
	ip[0] = 0x45;
	memcpy(ip + 2, &tot_len, 2);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &dst, 4);
	memcpy(tcp, &port_s, 2);
	memcpy(tcp + 2, &port_d, 2);
	tcp[12] = 8 << 4; /* doff: 32 bytes */
	tcp[13] = 0x10;   /* ACK */
}

/*
 * The baseline: r0 = TC_ACT_UNSPEC; exit. With clock set, a call to
 * bpf_ktime_get_ns() comes first: the price of one clock read on this
 * machine.
 */
static int load_raw(int clock)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_ktime_get_ns },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int skip = clock ? 0 : 1;

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, clock ? "bench_clock" : "bench_empty",
			     "GPL", insns + skip, 3 - skip, NULL);
}

/*
 * The stamp program: skb->tstamp += STAMP_STEP_NS, as a monotonic
 * departure time (what TCP sets), then a tail call into the program in
 * slot 0 of prog_array. The tail call fails only if the slot is empty;
 * the run then returns TC_ACT_OK, which the harness reports as invalid.
 * It reads tstamp_type too: a program that does not may be handed 0 for
 * a monotonic stamp, and the stamp would stop moving.
 */
static int load_stamp(int prog_array)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_LDX | BPF_MEM | BPF_B, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct __sk_buff, tstamp_type) },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct __sk_buff, tstamp) },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = STAMP_STEP_NS },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3,
		  .imm = BPF_SKB_TSTAMP_DELIVERY_MONO },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_skb_set_tstamp },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_6 },
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = prog_array },
		{ 0 }, /* second half of the 64-bit immediate */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bench_stamp", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

/* Put the stamp program in front of c->inner_fd. */
static int stamp_wrap(struct bench_case *c)
{
	__u32 zero = 0;

	c->prog_array_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bench_stamp", 4, 4, 1, NULL);
	if (c->prog_array_fd < 0)
		return -errno;
	c->prog_fd = load_stamp(c->prog_array_fd);
	if (c->prog_fd < 0)
		return -errno;
	if (bpf_map_update_elem(c->prog_array_fd, &zero, &c->inner_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* One test run; stamp is the departure time handed to the stamp program. */
static int test_run(int prog_fd, __u32 daddr, __u32 repeat, __u64 stamp, __u32 *retval,
		    __u32 *ns)
{
	unsigned char pkt[PKT_LEN];
	struct __sk_buff ctx = { .tstamp = stamp };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = PKT_LEN,
		    .repeat = repeat);

	if (stamp) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	build_packet(pkt, daddr);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*retval = o.retval;
	*ns = o.duration;
	return 0;
}

/*
 * Config, one policy for 10.0.0.0/8, and n destination entries. The first
 * entry is made by the program itself (the slow path: policy lookup,
 * control values, bucket times); the others are copies of it under other
 * keys, so every entry is exactly what the datapath would have made.
 */
static int populate(struct sluice_bpf *skel, __u32 n)
{
	struct sluice_config cfg = { .abi_version = SLUICE_ABI_VERSION, .ctl_gen = CTL_GEN };
	struct sluice_policy pol = {
		.rate_Bps = RATE_BPS, .burst_bytes = BURST, .mark_thresh = BURST,
		.id = 1, .mode = SLUICE_MODE_ENFORCE,
	};
	struct sluice_lpm_key pk = { .prefixlen = 96 + 8 };
	int dest_fd = bpf_map__fd(skel->maps.sluice_dest);
	struct sluice_addr *keys = NULL;
	struct sluice_dest *vals = NULL;
	__u32 zero = 0, i, count = n - 1, rv, ns;
	int err;

	addr_v4(&pk.addr, dest_ip(0));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sluice_config), &zero, &cfg, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.sluice_policy), &pk, &pol, 0))
		return -errno;
	err = test_run(bpf_program__fd(skel->progs.sluice_tc_egress), dest_ip(0), 1, 0, &rv, &ns);
	if (err)
		return err;
	keys = calloc(n, sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	addr_v4(&keys[0], dest_ip(0));
	if (bpf_map_lookup_elem(dest_fd, &keys[0], &vals[0])) {
		err = -ENOENT; /* the program did not make the entry */
		goto out;
	}
	for (i = 1; i < n; i++) {
		addr_v4(&keys[i], dest_ip(i));
		vals[i] = vals[0];
	}
	if (count)
		err = bpf_map_update_batch(dest_fd, keys + 1, vals + 1, &count, NULL);
	if (!err && count != n - 1)
		err = -ENOSPC;
out:
	free(vals);
	free(keys);
	return err;
}

static int case_load(struct bench_case *c)
{
	__u32 max = c->dests + c->dests / 8; /* headroom: LRU never evicts */
	int err;

	c->skel = sluice_bpf__open();
	if (!c->skel)
		return -errno;
	if (max > SLUICE_DEST_MAX_DEFAULT)
		bpf_map__set_max_entries(c->skel->maps.sluice_dest, max);
	err = sluice_bpf__load(c->skel);
	if (err)
		return err;
	err = populate(c->skel, c->dests);
	if (err)
		return err;
	c->inner_fd = bpf_program__fd(c->skel->progs.sluice_tc_egress);
	c->dest_fd = bpf_map__fd(c->skel->maps.sluice_dest);
	c->stats_fd = bpf_map__fd(c->skel->maps.sluice_stats);
	return 0;
}

static __u64 stat_sum(int fd, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 v[ncpu > 0 ? ncpu : 1], sum = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(fd, &idx, v))
		return ~0ULL;
	for (i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* The address a case sends its i-th packet of a cycle (or round) to. */
static __u32 case_addr(const struct bench_case *c, __u32 i)
{
	if (c->unmatched)
		return unmatched_ip(i);
	if (!c->dests)
		return dest_ip(i);
	return dest_ip(i % c->dests);
}

/* The destination round r of a repeated case sends to: spread over the table. */
static __u32 case_target(const struct bench_case *c, int r)
{
	if (c->unmatched)
		return unmatched_ip(0x201); /* 192.0.2.1 */
	if (!c->dests)
		return dest_ip(0);
	return dest_ip((__u32)((r * 2654435761ULL) % c->dests));
}

/*
 * One repeated test run. For a sluice case, the entry's counters must
 * have grown by exactly repeat passed packets and no drop, no entry may
 * have been created, and a stamped packet must have been charged at its
 * stamp, not at the clock: otherwise the run did not measure the path it
 * names.
 */
static int run_repeated(struct bench_case *c, int r, __u32 repeat, double *ns)
{
	struct sluice_dest before = {}, after = {};
	__u32 target = case_target(c, r), retval, dur;
	__u64 new0 = 0, unm0 = 0, stamp = c->stamped ? monotonic_ns() : 0;
	struct sluice_addr key;
	int ok = 1, err;

	addr_v4(&key, target);
	if (c->kind == PROG_SLUICE) {
		if (!c->unmatched && bpf_map_lookup_elem(c->dest_fd, &key, &before))
			return -ENOENT;
		new0 = stat_sum(c->stats_fd, SLUICE_STAT_DEST_NEW);
		unm0 = stat_sum(c->stats_fd, SLUICE_STAT_UNMATCHED);
	}
	err = test_run(c->prog_fd, target, repeat, stamp, &retval, &dur);
	if (err)
		return err;
	*ns = dur;
	if (retval != TC_UNSPEC)
		ok = 0;
	if (c->kind != PROG_SLUICE)
		return ok;
	if (stat_sum(c->stats_fd, SLUICE_STAT_DEST_NEW) != new0)
		ok = 0;
	if (c->unmatched)
		return ok && stat_sum(c->stats_fd, SLUICE_STAT_UNMATCHED) - unm0 == repeat &&
		       bpf_map_lookup_elem(c->dest_fd, &key, &after) && errno == ENOENT;
	if (bpf_map_lookup_elem(c->dest_fd, &key, &after))
		return 0;
	if (after.passed_pkts - before.passed_pkts != repeat ||
	    after.dropped_pkts != before.dropped_pkts ||
	    after.marked_pkts != before.marked_pkts)
		ok = 0;
	if (c->stamped && after.last_ns != stamp + (__u64)repeat * STAMP_STEP_NS)
		ok = 0;
	return ok;
}

static void shuffle(__u32 *v, __u32 n, __u64 *seed)
{
	__u32 i, j, t;

	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (__u32)((*seed >> 33) % (i + 1));
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/*
 * A cycle: one packet to each of cycle_len destinations, in this round's
 * order. A stamped packet's stamp is the cycle's start plus its place in
 * the order, so that each entry's last_ns shows afterwards that it was
 * charged at its stamp. The checks of the whole pass are made by
 * cycle_check, once, after all rounds: reading every entry between rounds
 * would bring them all back into the cache.
 */
static int run_cycle(struct bench_case *c, __u64 *stamp0, double *ns)
{
	__u64 sum = 0, t0 = c->stamped ? monotonic_ns() : 0;
	__u32 i, retval, dur;
	int ok = 1, err;

	for (i = 0; i < cycle_len; i++) {
		err = test_run(c->prog_fd, case_addr(c, order[i]), 1, c->stamped ? t0 + i : 0,
			       &retval, &dur);
		if (err)
			return err;
		if (retval != TC_UNSPEC)
			ok = 0;
		sum += dur;
	}
	*ns = (double)sum / cycle_len;
	if (stamp0)
		*stamp0 = t0;
	return ok;
}

/* What a cycle case's table and counters look like now. */
struct cycle_snap {
	__u64 new, unmatched, passed, dropped, marked;
	__u32 entries;
	int last_ok; /* every entry's last_ns is the stamp of its last packet */
};

static int cycle_snap(const struct bench_case *c, __u64 stamp0, int check_last,
		      struct cycle_snap *s)
{
	struct sluice_addr key;
	struct sluice_dest d;
	__u32 i;

	memset(s, 0, sizeof(*s));
	s->new = stat_sum(c->stats_fd, SLUICE_STAT_DEST_NEW);
	s->unmatched = stat_sum(c->stats_fd, SLUICE_STAT_UNMATCHED);
	s->last_ok = 1;
	for (i = 0; i < cycle_len; i++) {
		addr_v4(&key, case_addr(c, order[i]));
		if (bpf_map_lookup_elem(c->dest_fd, &key, &d))
			continue;
		s->entries++;
		s->passed += d.passed_pkts;
		s->dropped += d.dropped_pkts;
		s->marked += d.marked_pkts;
		if (check_last && d.last_ns != stamp0 + i + STAMP_STEP_NS)
			s->last_ok = 0;
	}
	return 0;
}

/*
 * After `rounds` cycles: every destination passed exactly one packet per
 * cycle, none dropped or marked, no entry made; a stamped case charged
 * each packet at its stamp. An unmatched cycle counted every packet as
 * unmatched and made no entry for any.
 */
static int cycle_check(const struct bench_case *c, const struct cycle_snap *s0,
		       __u64 stamp0, int rounds)
{
	struct cycle_snap s1;

	if (c->kind != PROG_SLUICE)
		return 1;
	cycle_snap(c, stamp0, c->stamped, &s1);
	if (s1.new != s0->new)
		return 0;
	if (c->unmatched)
		return s1.entries == 0 &&
		       s1.unmatched - s0->unmatched == (__u64)rounds * cycle_len;
	return s1.entries == cycle_len && s0->entries == cycle_len &&
	       s1.passed - s0->passed == (__u64)rounds * cycle_len &&
	       s1.dropped == s0->dropped && s1.marked == s0->marked && s1.last_ok;
}

static int prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The kernel's own view: run_time_ns / run_cnt over one more run (or
 * cycle) per case, KERNEL_ROUNDS times in alternation; the median is kept.
 * The stamp program's statistics include the program it tail-calls.
 */
static void kernel_pass(struct bench_case *cs, int n, __u32 repeat, __u64 seed)
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME), i, r;
	double v[KERNEL_ROUNDS][CASES_MAX], dur;
	__u64 ns0 = 0, cnt0 = 0, ns1 = 0, cnt1 = 0;

	for (i = 0; i < n; i++)
		cs[i].kernel_ns = -1;
	if (stats_fd < 0) {
		fprintf(stderr, "prog_cost: BPF statistics unavailable: %s\n",
			strerror(errno));
		return;
	}
	for (r = 0; r < KERNEL_ROUNDS; r++) {
		shuffle(order, cycle_len, &seed);
		for (i = 0; i < n; i++) {
			v[r][i] = -1;
			if (prog_stats(cs[i].prog_fd, &ns0, &cnt0) ||
			    (cs[i].cycle ? run_cycle(&cs[i], NULL, &dur)
					 : run_repeated(&cs[i], r, repeat, &dur)) < 0 ||
			    prog_stats(cs[i].prog_fd, &ns1, &cnt1) || cnt1 == cnt0)
				continue;
			v[r][i] = (double)(ns1 - ns0) / (double)(cnt1 - cnt0);
		}
	}
	close(stats_fd);
	for (i = 0; i < n; i++) {
		double col[KERNEL_ROUNDS];

		for (r = 0; r < KERNEL_ROUNDS; r++)
			col[r] = v[r][i];
		qsort(col, KERNEL_ROUNDS, sizeof(col[0]), cmp_double);
		cs[i].kernel_ns = col[0] < 0 ? -1 : col[KERNEL_ROUNDS / 2];
	}
}

static void report(const struct bench_case *cs, int i, int rounds)
{
	const struct bench_case *c = &cs[i], *b = &cs[c->base];
	double s[ROUNDS_MAX], d[ROUNDS_MAX], med, above;
	int r;

	for (r = 0; r < rounds; r++) {
		s[r] = c->ns[r];
		d[r] = c->ns[r] - b->ns[r];
	}
	med = median(s, rounds); /* sorts s: s[0] is the least */
	above = i == c->base ? 0 : median(d, rounds);
	printf("%s\t%u\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%.1f\t", c->name,
	       c->cycle ? cycle_len : c->dests, med, s[0], s[rounds - 1], c->kernel_ns,
	       c->valid ? "yes" : "no", b->name, above);
	if (c->kernel_ns >= 0 && b->kernel_ns >= 0)
		printf("%.1f\n", i == c->base ? 0 : c->kernel_ns - b->kernel_ns);
	else
		printf("n/a\n");
}

static void usage(void)
{
	fprintf(stderr, "usage: prog_cost [-r REPEAT] [-n ROUNDS] [-c CYCLE] [-o RAW.tsv]\n");
	exit(2);
}

/* Load or share each case's program and table. */
static int setup(struct bench_case *cs, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct bench_case *c = &cs[i];

		c->prog_array_fd = c->dest_fd = c->stats_fd = -1;
		if (c->kind != PROG_SLUICE) {
			c->inner_fd = load_raw(c->kind == PROG_CLOCK);
			err = c->inner_fd < 0 ? -errno : 0;
		} else if (c->table >= 0) {
			c->inner_fd = cs[c->table].inner_fd;
			c->dest_fd = cs[c->table].dest_fd;
			c->stats_fd = cs[c->table].stats_fd;
			err = 0;
		} else {
			err = case_load(c);
		}
		if (err) {
			fprintf(stderr, "prog_cost: loading %s/%u: %s\n", c->name, c->dests,
				strerror(-err));
			return err;
		}
		c->prog_fd = c->inner_fd;
		if (c->stamped && (err = stamp_wrap(c))) {
			fprintf(stderr, "prog_cost: stamp program for %s: %s\n", c->name,
				strerror(-err));
			return err;
		}
		c->valid = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { EMPTY, CLOCK, EMPTY_TCP, S1, S1K, S1M, TCP1M, UNM, E_CYC, ET_CYC, TCP_CYC, U_CYC };
	struct bench_case cs[] = {
		[EMPTY]     = { "empty", 0, PROG_EMPTY, .base = EMPTY, .table = -1 },
		[CLOCK]     = { "clock", 0, PROG_CLOCK, .base = EMPTY, .table = -1 },
		[EMPTY_TCP] = { "empty-tcp", 0, PROG_EMPTY, .stamped = 1, .base = EMPTY, .table = -1 },
		[S1]        = { "sluice", 1, PROG_SLUICE, .base = EMPTY, .table = -1 },
		[S1K]       = { "sluice", 1000, PROG_SLUICE, .base = EMPTY, .table = -1 },
		[S1M]       = { "sluice", 1000000, PROG_SLUICE, .base = EMPTY, .table = -1 },
		[TCP1M]     = { "sluice-tcp", 1000000, PROG_SLUICE, .stamped = 1,
				.base = EMPTY_TCP, .table = S1M },
		[UNM]       = { "unmatched", 1000000, PROG_SLUICE, .unmatched = 1,
				.base = EMPTY, .table = S1M },
		[E_CYC]     = { "empty-cycle", 0, PROG_EMPTY, .cycle = 1, .base = E_CYC,
				.table = -1 },
		[ET_CYC]    = { "empty-tcp-cycle", 0, PROG_EMPTY, .stamped = 1, .cycle = 1,
				.base = ET_CYC, .table = -1 },
		[TCP_CYC]   = { "sluice-tcp-cycle", 0, PROG_SLUICE, .stamped = 1, .cycle = 1,
				.base = ET_CYC, .table = -1 },
		[U_CYC]     = { "unmatched-cycle", 0, PROG_SLUICE, .unmatched = 1, .cycle = 1,
				.base = E_CYC, .table = TCP_CYC },
	};
	int n = sizeof(cs) / sizeof(cs[0]), rounds = 7, opt, i, r, ok;
	struct cycle_snap snap0[CASES_MAX];
	__u64 seed = 0x5eed, stamp0[CASES_MAX] = { 0 };
	__u32 repeat = 2000000;
	FILE *raw = NULL;

	_Static_assert(sizeof(cs) / sizeof(cs[0]) <= CASES_MAX, "too many cases");

	while ((opt = getopt(argc, argv, "r:n:c:o:")) != -1) {
		switch (opt) {
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'c':
			cycle_len = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			raw = fopen(optarg, "w");
			if (!raw) {
				perror(optarg);
				return 1;
			}
			break;
		default:
			usage();
		}
	}
	if (rounds < 1 || rounds > ROUNDS_MAX || !repeat || cycle_len < 1 ||
	    cycle_len > 1000000)
		usage();
	cs[TCP_CYC].dests = cycle_len; /* its table holds exactly the cycle */
	order = calloc(cycle_len, sizeof(*order));
	if (!order || setup(cs, n))
		return 1;
	shuffle(order, cycle_len, &seed);
	for (i = 0; i < n; i++)
		if (cs[i].cycle && cs[i].kind == PROG_SLUICE)
			cycle_snap(&cs[i], 0, 0, &snap0[i]);

	if (raw)
		fprintf(raw, "round\tcase\tdests\tns_per_pkt\tvalid\n");
	for (r = 0; r < rounds; r++) {
		shuffle(order, cycle_len, &seed);
		for (i = 0; i < n; i++) {
			struct bench_case *c = &cs[i];

			ok = c->cycle ? run_cycle(c, &stamp0[i], &c->ns[r])
				      : run_repeated(c, r, repeat, &c->ns[r]);
			if (ok < 0) {
				fprintf(stderr, "prog_cost: test run of %s/%u: %s\n", c->name,
					c->dests, strerror(-ok));
				return 1;
			}
			if (!ok)
				c->valid = 0;
			if (raw)
				fprintf(raw, "%d\t%s\t%u\t%.1f\t%d\n", r, c->name,
					c->cycle ? cycle_len : c->dests, c->ns[r], ok);
		}
	}
	/* the last round's order is still in `order`: cycle_check reads it */
	for (i = 0; i < n; i++)
		if (cs[i].cycle && !cycle_check(&cs[i], &snap0[i], stamp0[i], rounds))
			cs[i].valid = 0;
	kernel_pass(cs, n, repeat, seed);

	for (i = 0; i < n; i++)
		report(cs, i, rounds);
	if (raw)
		fclose(raw);
	for (i = 0; i < n; i++) {
		if (cs[i].kind != PROG_SLUICE)
			close(cs[i].inner_fd);
		if (cs[i].stamped) {
			close(cs[i].prog_fd);
			close(cs[i].prog_array_fd);
		}
		sluice_bpf__destroy(cs[i].skel);
	}
	free(order);
	return 0;
}
