// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of sluice's TC egress program, through BPF_PROG_TEST_RUN,
 * against an empty TC program (r0 = TC_ACT_UNSPEC; exit) in the same run.
 *
 * A third program, the empty one preceded by a bpf_ktime_get_ns() call,
 * shows what the one clock read per packet costs on the machine at hand.
 *
 * One skeleton is loaded per table size (1, 10^3, 10^6 destinations); each
 * table is filled with entries whose cached control values carry the current
 * ctl_gen, so the measured packet takes the fast path: one hash lookup, one
 * bucket update, the counters. The rate is so high that the packet costs
 * under two nanoseconds of bucket time, so a packet repeated millions of
 * times is always admitted. Every run checks from the counters that it was:
 * all passed, none marked or dropped, no entry created.
 *
 * Rounds alternate the programs (empty, clock, each table size) so that
 * drift of the machine hits all of them alike. Each round of a table size
 * sends its packet to another destination of the table.
 *
 *   prog_cost [-r REPEAT] [-n ROUNDS] [-o RAW.tsv]
 *
 * stdout, one line per case, tab-separated:
 *   case dests median_ns min_ns max_ns kernel_ns valid
 * kernel_ns is run_time_ns / run_cnt from the kernel's BPF statistics, the
 * median of three runs in a separate pass (statistics enabled through
 * BPF_ENABLE_STATS, which the kernel undoes when the fd is closed), or -1
 * when unavailable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "sluice/abi.h"

#define ROUNDS_MAX 64
#define KERNEL_ROUNDS 3
#define CASES_MAX  8
#define RATE_BPS   1000000000000ULL /* 8 Tbit/s: a 1514-byte frame costs 1.5 ns */
#define BURST      (1U << 30)
#define PKT_LEN    1514
#define CTL_GEN    1
#define TC_UNSPEC  0xffffffffU /* TC_ACT_UNSPEC as test-run's retval */

struct bench_case {
	const char *name;
	__u32 dests;
	int prog_fd;
	int dest_fd;   /* -1 for the raw programs */
	int stats_fd;
	struct sluice_bpf *skel;
	int unmatched; /* send to an address no policy covers */
	__u32 ns[ROUNDS_MAX];
	double kernel_ns;
	int valid;
};

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
 * bpf_ktime_get_ns() comes first: the price of the one clock read the
 * datapath makes per packet, on this machine.
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

static int test_run(int prog_fd, __u32 daddr, __u32 repeat, __u32 *retval, __u32 *ns)
{
	unsigned char pkt[PKT_LEN];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = PKT_LEN,
		    .repeat = repeat);

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
	err = test_run(bpf_program__fd(skel->progs.sluice_tc_egress), dest_ip(0), 1, &rv, &ns);
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
	c->prog_fd = bpf_program__fd(c->skel->progs.sluice_tc_egress);
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

/* The destination round r sends to: spread over the table. */
static __u32 case_target(const struct bench_case *c, int r)
{
	if (c->unmatched)
		return 0xc0000201; /* 192.0.2.1 */
	if (!c->dests)
		return dest_ip(0);
	return dest_ip((__u32)((r * 2654435761ULL) % c->dests));
}

/*
 * One test run. For a sluice case, the entry's counters must have grown by
 * exactly repeat passed packets and no drop, and no entry may have been
 * created: otherwise the run did not measure the fast path.
 */
static int run_once(struct bench_case *c, __u32 target, __u32 repeat, __u32 *ns)
{
	struct sluice_dest before = {}, after = {};
	struct sluice_addr key;
	__u64 new0 = 0, unm0 = 0;
	__u32 retval;
	int ok = 1, err;

	addr_v4(&key, target);
	if (c->dest_fd >= 0) {
		if (!c->unmatched && bpf_map_lookup_elem(c->dest_fd, &key, &before))
			return -ENOENT;
		new0 = stat_sum(c->stats_fd, SLUICE_STAT_DEST_NEW);
		unm0 = stat_sum(c->stats_fd, SLUICE_STAT_UNMATCHED);
	}
	err = test_run(c->prog_fd, target, repeat, &retval, ns);
	if (err)
		return err;
	if (retval != TC_UNSPEC)
		ok = 0;
	if (c->dest_fd < 0)
		return ok;
	if (stat_sum(c->stats_fd, SLUICE_STAT_DEST_NEW) != new0)
		ok = 0;
	if (c->unmatched)
		return ok && stat_sum(c->stats_fd, SLUICE_STAT_UNMATCHED) - unm0 == repeat;
	if (bpf_map_lookup_elem(c->dest_fd, &key, &after))
		return 0;
	if (after.passed_pkts - before.passed_pkts != repeat ||
	    after.dropped_pkts != before.dropped_pkts ||
	    after.marked_pkts != before.marked_pkts)
		ok = 0;
	return ok;
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

/*
 * The kernel's own view: run_time_ns / run_cnt over one more run per case,
 * KERNEL_ROUNDS times in alternation; the median is kept.
 */
static void kernel_pass(struct bench_case *cs, int n, __u32 repeat)
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME), i, r;
	double v[KERNEL_ROUNDS][CASES_MAX];
	__u64 ns0 = 0, cnt0 = 0, ns1 = 0, cnt1 = 0;
	__u32 dur;

	for (i = 0; i < n; i++)
		cs[i].kernel_ns = -1;
	if (stats_fd < 0) {
		fprintf(stderr, "prog_cost: BPF statistics unavailable: %s\n",
			strerror(errno));
		return;
	}
	for (r = 0; r < KERNEL_ROUNDS; r++) {
		for (i = 0; i < n; i++) {
			v[r][i] = -1;
			if (prog_stats(cs[i].prog_fd, &ns0, &cnt0) ||
			    run_once(&cs[i], case_target(&cs[i], r), repeat, &dur) < 0 ||
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

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static void report(struct bench_case *c, int rounds)
{
	__u32 s[ROUNDS_MAX];

	memcpy(s, c->ns, rounds * sizeof(s[0]));
	qsort(s, rounds, sizeof(s[0]), cmp_u32);
	printf("%s\t%u\t%.1f\t%u\t%u\t%.1f\t%s\n", c->name, c->dests,
	       rounds % 2 ? s[rounds / 2] : (s[rounds / 2 - 1] + s[rounds / 2]) / 2.0,
	       s[0], s[rounds - 1], c->kernel_ns, c->valid ? "yes" : "no");
}

static void usage(void)
{
	fprintf(stderr, "usage: prog_cost [-r REPEAT] [-n ROUNDS] [-o RAW.tsv]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench_case cs[] = {
		{ .name = "empty", .dest_fd = -1 },
		{ .name = "clock", .dest_fd = -1 },
		{ .name = "sluice", .dests = 1 },
		{ .name = "sluice", .dests = 1000 },
		{ .name = "sluice", .dests = 1000000 },
		{ .name = "unmatched", .dests = 1000000, .unmatched = 1 },
	};
	int n = sizeof(cs) / sizeof(cs[0]), rounds = 7, opt, i, r, err;
	__u32 repeat = 2000000;
	FILE *raw = NULL;

	_Static_assert(sizeof(cs) / sizeof(cs[0]) <= CASES_MAX, "too many cases");

	while ((opt = getopt(argc, argv, "r:n:o:")) != -1) {
		switch (opt) {
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			rounds = atoi(optarg);
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
	if (rounds < 1 || rounds > ROUNDS_MAX || !repeat)
		usage();

	for (i = 0; i < n; i++) {
		if (cs[i].dest_fd < 0) {
			cs[i].prog_fd = load_raw(i > 0);
			if (cs[i].prog_fd < 0) {
				fprintf(stderr, "prog_cost: %s program: %s\n", cs[i].name,
					strerror(errno));
				return 1;
			}
		} else if (cs[i].unmatched) {
			/* the last table of the same size serves this case */
			cs[i].skel = NULL;
			cs[i].prog_fd = cs[i - 1].prog_fd;
			cs[i].dest_fd = cs[i - 1].dest_fd;
			cs[i].stats_fd = cs[i - 1].stats_fd;
		} else if ((err = case_load(&cs[i]))) {
			fprintf(stderr, "prog_cost: loading %u destinations: %s\n",
				cs[i].dests, strerror(-err));
			return 1;
		}
		cs[i].valid = 1;
	}

	if (raw)
		fprintf(raw, "round\tcase\tdests\tns_per_pkt\tvalid\n");
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			int ok = run_once(&cs[i], case_target(&cs[i], r), repeat,
					  &cs[i].ns[r]);

			if (ok < 0) {
				fprintf(stderr, "prog_cost: test run of %s/%u: %s\n",
					cs[i].name, cs[i].dests, strerror(-ok));
				return 1;
			}
			if (!ok)
				cs[i].valid = 0;
			if (raw)
				fprintf(raw, "%d\t%s\t%u\t%u\t%d\n", r, cs[i].name,
					cs[i].dests, cs[i].ns[r], ok);
		}
	}
	kernel_pass(cs, n, repeat);

	for (i = 0; i < n; i++)
		report(&cs[i], rounds);
	if (raw)
		fclose(raw);
	for (i = 0; i < n; i++) {
		if (cs[i].dest_fd < 0)
			close(cs[i].prog_fd);
		sluice_bpf__destroy(cs[i].skel);
	}
	return 0;
}
