// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_tc_egress through BPF_PROG_TEST_RUN: crafted frames in, verdict,
 * frame bytes out, and the maps afterwards.
 *
 * Each test loads a fresh skeleton (no pins: nothing outside this process
 * sees its maps), writes sluice_config and the policies the way sluiced
 * does, and runs frames one at a time.
 *
 * Time: the bucket refills in real time (bpf_ktime_get_ns) while a test
 * runs. The rate here is 1kbit (125 B/s), the smallest a policy may have:
 * a 454-byte test frame costs 3.6 s, so refill during a test (a few ms)
 * is a few bytes, and every burst and threshold is set half a frame away
 * from the boundary a test relies on.
 *
 * sluice_sockops and sluice_connect4/6 cannot run through
 * BPF_PROG_TEST_RUN (the kernel answers ENOTSUPP for sock_ops and
 * cgroup/connect programs); the integration tier covers them with real
 * connections. Here only their verifier cost is recorded, as for every
 * program in the object.
 */
#include <time.h>

#include "fixture.h"

#define INSNS_LIMIT 100000

/* --- maps ---------------------------------------------------------------- */

/* lease_expires_ns: CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns; 0 = none. */
static void set_config(struct fx *f, __u64 gen, __u64 lease_expires_ns)
{
	f->cfg.ctl_gen = gen;
	f->cfg.lease_expires_ns = lease_expires_ns;
	fx_write_config(f);
}

static void put_policy_fail_mode(struct fx *f, const char *prefix, __u32 id, __u64 rate,
				 __u8 fail_mode)
{
	struct sluice_lpm_key k = key_of(prefix);
	struct sluice_policy p = {
		.rate_Bps = rate,
		.burst_bytes = BIG_BURST,
		.mark_thresh = BIG_BURST,
		.id = id,
		.mode = SLUICE_MODE_ENFORCE,
		.fail_mode = fail_mode,
	};

	assert_int_equal(bpf_map_update_elem(f->policy, &k, &p, BPF_ANY), 0);
}

static void del_policy(struct fx *f, const char *prefix)
{
	struct sluice_lpm_key k = key_of(prefix);

	assert_int_equal(bpf_map_delete_elem(f->policy, &k), 0);
}

static int dest_count(struct fx *f)
{
	struct sluice_addr key, next;
	const void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(f->dest, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

/* --- frames -------------------------------------------------------------- */

/*
 * A GSO super-packet as TC sees it: one buffer of headers plus segs
 * segments' payload. wire_len is what the stack computes for it (the
 * qdisc's packet length), the figure sluice must charge too.
 */
static void run_gso(struct fx *f, const struct pkt_buf *b, __u32 segs, __u32 seg_size,
		    __u32 wire, struct run_out *o)
{
	struct __sk_buff ctx = {
		.gso_segs = segs,
		.gso_size = seg_size,
		.wire_len = wire,
	};

	run_ctx(f, b, &ctx, o);
}

/*
 * o is b with CE set: the ECN bits 11, the IPv4 checksum valid again, and
 * every other byte as it was.
 */
static void assert_marked_ce(const struct pkt_buf *b, const struct run_out *o)
{
	const __u8 *ip = o->data + b->l3_off;
	struct pkt_buf want = *b;

	assert_int_equal(o->ret, TC_PASS);
	assert_int_equal(o->len, b->len);
	if ((b->data[b->l3_off] >> 4) == 4) {
		assert_int_equal(ip[1], b->data[b->l3_off + 1] | ECN_CE);
		if (!pkt_ipv4_csum_ok(ip))
			fail_msg("IPv4 header checksum invalid after CE: TOS %#04x -> %#04x, "
				 "checksum %02x%02x -> %02x%02x", b->data[b->l3_off + 1], ip[1],
				 b->data[b->l3_off + 10], b->data[b->l3_off + 11], ip[10], ip[11]);
		want.data[b->l3_off + 1] |= ECN_CE;
		/* the checksum is the one field allowed to differ */
		want.data[b->l3_off + 10] = ip[10];
		want.data[b->l3_off + 11] = ip[11];
	} else {
		/* traffic class bits 0-1 are bits 4-5 of the second byte */
		want.data[b->l3_off + 1] |= ECN_CE << 4;
	}
	assert_memory_equal(o->data, want.data, b->len);
}

/* --- verifier ------------------------------------------------------------ */

/* Every program in the object, so that a new one is counted as well. */
static void test_verified_insns_below_limit(void **state)
{
	struct fx *f = fx_get(state);
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, f->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		assert_int_equal(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
		print_message("# verified_insns %s %u\n", bpf_program__name(prog),
			      info.verified_insns);
		assert_true(info.verified_insns > 0);
		assert_true(info.verified_insns < INSNS_LIMIT);
		n++;
	}
	assert_true(n >= 2);
}

/* --- matched traffic ----------------------------------------------------- */

static void test_ipv4_tcp_charged_wire_bytes(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d, d2;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 7, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk(&b, &(struct pkt_spec){ .dst = "10.1.2.3", .proto = IPPROTO_TCP, .payload = 400 });
	assert_int_equal(b.len, V4_LEN);

	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.1.2.3");
	assert_int_equal(d.passed_pkts, 1);
	assert_int_equal(d.passed_bytes, V4_LEN);
	assert_int_equal(d.marked_pkts + d.dropped_pkts, 0);
	assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED);
	assert_int_equal(d.policy_id, 7);
	assert_int_equal(d.mode, SLUICE_MODE_ENFORCE);
	assert_int_equal(d.ctl_gen, 1);
	assert_int_equal(d.rate_Bps, RATE);
	assert_int_equal(d.burst_bytes, BIG_BURST);
	assert_int_equal(d.ns_per_byte_q16, sluice_ns_per_byte_q16(RATE));
	assert_int_equal(d.burst_ticks, (__u64)BIG_BURST * TICKS_PER_BYTE);
	/* a fresh bucket is full: the frame's cost starts from now */
	assert_true(d.last_ns > 0);
	assert_int_equal(d.tat, (d.last_ns << SLUICE_TICK_SHIFT) + V4_LEN * TICKS_PER_BYTE);

	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d2 = dest_of(f, "10.1.2.3");
	assert_int_equal(d2.passed_pkts, 2);
	assert_int_equal(d2.passed_bytes, 2 * V4_LEN);
	/* queued behind the first: charged on top of it */
	assert_int_equal(d2.tat, d.tat + V4_LEN * TICKS_PER_BYTE);

	assert_int_equal(stat_of(f, SLUICE_STAT_PKTS), 2);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 1);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 0);
	assert_int_equal(dest_count(f), 1);
}

static void test_ipv6_tcp_charged_wire_bytes(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;
	__u64 tat;

	set_ctl_gen(f, 1);
	put_policy(f, "2001:db8::/32", 3, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk(&b, &(struct pkt_spec){ .dst = "2001:db8:1::5", .proto = IPPROTO_TCP,
				   .payload = 400 });
	assert_int_equal(b.len, V6_LEN);

	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	tat = dest_of(f, "2001:db8:1::5").tat;
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "2001:db8:1::5");
	assert_int_equal(d.passed_pkts, 2);
	assert_int_equal(d.passed_bytes, 2 * V6_LEN);
	assert_int_equal(d.policy_id, 3);
	assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED);
	assert_int_equal(d.tat, tat + V6_LEN * TICKS_PER_BYTE);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 1);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 0);
}

static void test_udp_and_icmp_charged_wire_bytes(void **state)
{
	static const struct pkt_spec specs[] = {
		{ .dst = "10.0.0.2", .proto = IPPROTO_UDP, .payload = 100 },
		{ .dst = "10.0.0.3", .proto = IPPROTO_ICMP, .payload = 56 },
		{ .dst = "2001:db8::2", .proto = IPPROTO_UDP, .payload = 100 },
		{ .dst = "2001:db8::3", .proto = IPPROTO_ICMPV6, .payload = 56 },
	};
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &specs[i]);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		d = dest_of(f, specs[i].dst);
		assert_int_equal(d.passed_pkts, 1);
		assert_int_equal(d.passed_bytes, b.len);
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 4);
}

static void test_vlan_tagged_charged_whole_frame(void **state)
{
	static const struct pkt_spec specs[] = {
		{ .dst = "10.0.0.4", .proto = IPPROTO_TCP, .payload = 400, .vlans = 1 },
		{ .dst = "10.0.0.5", .proto = IPPROTO_TCP, .payload = 400, .vlans = 2 },
		{ .dst = "2001:db8::4", .proto = IPPROTO_UDP, .payload = 400, .vlans = 1 },
		{ .dst = "2001:db8::5", .proto = IPPROTO_TCP, .payload = 400, .vlans = 2 },
	};
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &specs[i]);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		d = dest_of(f, specs[i].dst);
		assert_int_equal(d.passed_bytes, b.len);
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
}

/* --- GSO ----------------------------------------------------------------- */

/* Each segment carries its own copy of the headers on the wire. */
static void test_gso_charged_headers_per_segment(void **state)
{
	static const struct {
		struct pkt_spec s;
		__u32 segs, seg_size, hdr;
	} cases[] = {
		/* TCP with 12 bytes of options (timestamps): 14 + 20 + 32 */
		{ { .dst = "10.0.1.1", .proto = IPPROTO_TCP, .tcp_opt_len = 12,
		    .payload = 2 * 1448 }, 2, 1448, 66 },
		{ { .dst = "10.0.1.2", .proto = IPPROTO_TCP, .tcp_opt_len = 12,
		    .payload = 3 * 1000 }, 3, 1000, 66 },
		{ { .dst = "10.0.1.3", .proto = IPPROTO_UDP, .payload = 2 * 1472 },
		  2, 1472, 42 },
		/* 14 + 40 + 32 */
		{ { .dst = "2001:db8::11", .proto = IPPROTO_TCP, .tcp_opt_len = 12,
		    .payload = 2 * 1428 }, 2, 1428, 86 },
		{ { .dst = "2001:db8::12", .proto = IPPROTO_TCP, .vlans = 1,
		    .payload = 3 * 1000 }, 3, 1000, 78 },
		/* a single segment is a plain frame */
		{ { .dst = "10.0.1.4", .proto = IPPROTO_TCP, .payload = 1448 }, 1, 1448, 54 },
	};
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 wire;
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &cases[i].s);
		assert_int_equal(b.hdr_len, cases[i].hdr);
		wire = b.len + (cases[i].segs - 1) * cases[i].hdr;
		run_gso(f, &b, cases[i].segs, cases[i].seg_size, wire, &o);
		assert_pass_untouched(&b, &o);
		d = dest_of(f, cases[i].s.dst);
		assert_int_equal(d.passed_pkts, 1);
		if (d.passed_bytes != wire)
			fail_msg("%s, %u segments: charged %llu bytes, want %u", cases[i].s.dst,
				 cases[i].segs, (unsigned long long)d.passed_bytes, wire);
		assert_int_equal(d.tat - (d.last_ns << SLUICE_TICK_SHIFT), (__u64)wire * TICKS_PER_BYTE);
	}
}

/* The per-segment header includes IPv4 options (ihl > 5). */
static void test_gso_ipv4_options_in_header_length(void **state)
{
	static const __u32 opts[] = { 4, 12, 40 };
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char dst[32];
		__u32 hdr = 14 + 20 + opts[i] + 20, wire;
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		snprintf(dst, sizeof(dst), "10.0.2.%zu", i + 1);
		mk(&b, &(struct pkt_spec){ .dst = dst, .proto = IPPROTO_TCP,
					   .ip_opt_len = opts[i], .payload = 2 * 1400 });
		assert_int_equal(b.hdr_len, hdr);
		wire = b.len + hdr;
		run_gso(f, &b, 2, 1400, wire, &o);
		assert_pass_untouched(&b, &o);
		/* the options do not move the destination address */
		d = dest_of(f, dst);
		if (d.passed_bytes != wire)
			fail_msg("ihl %u: charged %llu bytes, want %u", 5 + opts[i] / 4,
				 (unsigned long long)d.passed_bytes, wire);
	}
}

/*
 * A non-first IPv4 fragment has no L4 header: its first bytes are payload
 * and must not be read as one. Here they look like a TCP header with 40
 * bytes of options; as a two-segment GSO buffer (the only way the header
 * length shows in what is charged) it is charged 34 bytes of headers per
 * extra segment, not 94. A first fragment (MF set, offset 0) has its TCP
 * header counted.
 */
static void test_ipv4_fragments(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	/* offset 1480 bytes = 185 units of 8, no MF: the last fragment */
	mk(&b, &(struct pkt_spec){ .dst = "10.0.3.1", .proto = IPPROTO_TCP, .frag = 185,
				   .tcp_opt_len = 40, .payload = 400 });
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.3.1");
	assert_int_equal(d.passed_bytes, b.len);

	mk(&b, &(struct pkt_spec){ .dst = "10.0.3.2", .proto = IPPROTO_TCP,
				   .frag = 0x2000 | 185, .tcp_opt_len = 40, .payload = 2000 });
	run_gso(f, &b, 2, 1000, b.len + 34, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.3.2");
	assert_int_equal(d.passed_bytes, b.len + 34);

	mk(&b, &(struct pkt_spec){ .dst = "10.0.3.3", .proto = IPPROTO_TCP,
				   .frag = 0x2000, .tcp_opt_len = 40, .payload = 2000 });
	run_gso(f, &b, 2, 1000, b.len + 94, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.3.3");
	assert_int_equal(d.passed_bytes, b.len + 94);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
}

/*
 * A TCP header cut short still has a complete IP header: the frame is
 * matched on its destination and charged its length.
 */
static void test_truncated_tcp_header_matched(void **state)
{
	static const char *const dsts[] = { "10.0.4.1", "2001:db8::41" };
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < 2; i++) {
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &(struct pkt_spec){ .dst = dsts[i], .proto = IPPROTO_TCP });
		pkt_truncate(&b, b.l4_off + 10);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		d = dest_of(f, dsts[i]);
		assert_int_equal(d.passed_bytes, b.len);
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
}

/*
 * An IPv4 header whose length field (ihl 15) claims options the frame
 * does not hold: the fixed header is complete, so it is matched and
 * charged its length, and nothing is read beyond the frame.
 */
static void test_ipv4_options_beyond_frame_matched(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk(&b, &(struct pkt_spec){ .dst = "10.0.4.2", .proto = IPPROTO_TCP, .ip_opt_len = 40,
				   .vlans = 1 });
	pkt_truncate(&b, b.l3_off + 24);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.4.2");
	assert_int_equal(d.passed_bytes, b.len);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
}

/* --- unparsed and unmatched ---------------------------------------------- */

static void expect_unparsed(struct fx *f, const struct pkt_buf *b, const char *what)
{
	__u64 before = stat_of(f, SLUICE_STAT_UNPARSED);
	__u64 pkts = stat_of(f, SLUICE_STAT_PKTS);
	struct run_out o;

	print_message("# unparsed: %s (%u bytes)\n", what, b->len);
	run(f, b, &o);
	assert_pass_untouched(b, &o);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), before + 1);
	assert_int_equal(stat_of(f, SLUICE_STAT_PKTS), pkts + 1);
}

/*
 * Frames sluice cannot parse pass untouched and are counted, even when a
 * policy covering every address would drop them. (A frame shorter than
 * an Ethernet header never reaches a TC program; test-run refuses it.)
 */
static void test_unparsed_pass_untouched(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;

	set_ctl_gen(f, 1);
	put_policy(f, "::/0", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	mk(&b, &(struct pkt_spec){ .ethertype = PKT_ETH_P_ARP });
	expect_unparsed(f, &b, "ARP");
	mk(&b, &(struct pkt_spec){ .ethertype = 0x88cc, .payload = 60 });
	expect_unparsed(f, &b, "LLDP");
	mk(&b, &(struct pkt_spec){ .ethertype = PKT_ETH_P_ARP, .vlans = 1 });
	expect_unparsed(f, &b, "ARP behind a VLAN tag");

	/*
	 * Test-run refuses an IP ethertype frame shorter than its IP header
	 * (a raw socket can still send one); behind a VLAN tag the kernel
	 * looks no further, so the truncated IP headers go there.
	 */
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 1 });
	pkt_truncate(&b, b.l3_off);
	expect_unparsed(f, &b, "VLAN, IPv4 ethertype, no IPv4 header");
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 1 });
	pkt_truncate(&b, b.l3_off + 19);
	expect_unparsed(f, &b, "VLAN, IPv4 header cut at 19 bytes");
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 2,
				   .ip_opt_len = 8 });
	pkt_truncate(&b, b.l3_off + 19);
	expect_unparsed(f, &b, "two VLAN tags, IPv4 header cut at 19 bytes");
	mk(&b, &(struct pkt_spec){ .dst = "2001:db8::1", .proto = IPPROTO_TCP, .vlans = 1 });
	pkt_truncate(&b, b.l3_off + 39);
	expect_unparsed(f, &b, "VLAN, IPv6 header cut at 39 bytes");
	mk(&b, &(struct pkt_spec){ .dst = "2001:db8::1", .proto = IPPROTO_TCP, .vlans = 1 });
	pkt_truncate(&b, b.l3_off);
	expect_unparsed(f, &b, "VLAN, IPv6 ethertype, no IPv6 header");
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 1 });
	pkt_truncate(&b, 14 + 2);
	expect_unparsed(f, &b, "VLAN tag cut in half");
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 2 });
	pkt_truncate(&b, 14 + 4 + 2);
	expect_unparsed(f, &b, "second VLAN tag cut in half");
	mk(&b, &(struct pkt_spec){ .dst = "10.0.0.1", .proto = IPPROTO_TCP, .vlans = 3,
				   .payload = 100 });
	expect_unparsed(f, &b, "three VLAN tags");

	mk_tcp(&b, "10.0.0.1", 0);
	b.data[b.l3_off] = 0x65;
	expect_unparsed(f, &b, "IPv4 ethertype, version 6 in the header");
	mk_tcp(&b, "10.0.0.1", 0);
	b.data[b.l3_off] = 0x44;
	expect_unparsed(f, &b, "IPv4 header length 16 bytes (ihl 4)");
	mk_tcp(&b, "2001:db8::1", 0);
	b.data[b.l3_off] = 0x40 | (b.data[b.l3_off] & 0x0f);
	expect_unparsed(f, &b, "IPv6 ethertype, version 4 in the header");

	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 0);
	assert_int_equal(dest_count(f), 0);
}

/* No policy covers it: passes untouched and takes no table space. */
static void test_unmatched_pass_untouched(void **state)
{
	static const char *const dsts[] = { "192.168.1.1", "11.0.0.1", "2001:db9::1",
					    "fe80::1" };
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		struct pkt_buf b;
		struct run_out o;

		mk_tcp(&b, dsts[i], ECN_ECT0);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), i + 1);
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_UNPARSED), 0);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 0);
	assert_int_equal(dest_count(f), 0);
}

static void test_v4_and_v6_policies_stay_apart(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	/* all of IPv4 (::ffff:0:0/96) and one IPv6 /32, both at rate 0 */
	put_policy(f, "0.0.0.0/0", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	mk_tcp(&b, "2001:db9::1", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 1);

	mk_tcp(&b, "10.9.9.9", 0);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	assert_int_equal(dest_of(f, "10.9.9.9").policy_id, 1);

	mk_tcp(&b, "2001:db8::1", 0);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	assert_int_equal(dest_of(f, "2001:db8::1").policy_id, 2);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 1);
}

/* --- the bucket's verdicts ----------------------------------------------- */

static void test_burst_exhausted_drops_without_charge(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b, small;
	struct sluice_dest d;
	struct run_out o;
	__u64 tat;

	set_ctl_gen(f, 1);
	/* two frames and a half */
	put_policy(f, "10.0.0.0/8", 1, RATE, 2 * V4_LEN + V4_LEN / 2, 2 * V4_LEN + V4_LEN / 2,
		   SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.5.1", 0);

	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	tat = dest_of(f, "10.0.5.1").tat;

	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	d = dest_of(f, "10.0.5.1");
	assert_int_equal(d.passed_pkts, 2);
	assert_int_equal(d.passed_bytes, 2 * V4_LEN);
	assert_int_equal(d.dropped_pkts, 2);
	assert_int_equal(d.dropped_bytes, 2 * V4_LEN);
	assert_int_equal(d.marked_pkts, 0);
	assert_int_equal(d.tat, tat); /* the drops cost nothing */

	/* so the half frame of room left still takes a small frame */
	mk(&small, &(struct pkt_spec){ .dst = "10.0.5.1", .proto = IPPROTO_TCP, .payload = 100 });
	run(f, &small, &o);
	assert_pass_untouched(&small, &o);
	assert_int_equal(dest_of(f, "10.0.5.1").tat, tat + (__u64)small.len * TICKS_PER_BYTE);
}

static void test_rate_zero_drops_everything(void **state)
{
	static const struct pkt_spec specs[] = {
		{ .dst = "10.0.6.1", .proto = IPPROTO_TCP, .payload = 400 },
		{ .dst = "10.0.6.1", .proto = IPPROTO_TCP, .payload = 0 },
		{ .dst = "10.0.6.2", .proto = IPPROTO_ICMP, .payload = 0 },
		{ .dst = "2001:db8::61", .proto = IPPROTO_TCP, .tos = ECN_ECT0, .payload = 400 },
	};
	struct fx *f = fx_get(state);
	__u64 bytes = 0;
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.6.0/24", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &specs[i]);
		run(f, &b, &o);
		assert_int_equal(o.ret, TC_DROP);
		if (i < 2)
			bytes += b.len;
	}
	{
		struct sluice_dest d = dest_of(f, "10.0.6.1");

		assert_int_equal(d.dropped_pkts, 2);
		assert_int_equal(d.dropped_bytes, bytes);
		assert_int_equal(d.passed_pkts, 0);
		assert_int_equal(d.ns_per_byte_q16, 0);
		assert_int_equal(d.tat, 0);
	}
	assert_int_equal(dest_of(f, "2001:db8::61").dropped_pkts, 1);
}

/*
 * Over the rate, TCP control passes: SYN, FIN and RST whatever they carry,
 * and segments with no data (pure ACKs). Each is charged, so the bulk
 * packets after it pay for its room, but the debt stays within two bursts.
 * TCP data with no local socket (forwarded, or a test-run's) is bulk and
 * dropped, as is traffic that is not TCP; each drop is counted by kind.
 */
static void test_control_packets_are_spared_and_charged(void **state)
{
	static const __u8 ctl_flags[] = { 0x10 /* ACK */, 0x02 /* SYN */, 0x11 /* FIN ACK */,
					  0x04 /* RST */ };
	struct fx *f = fx_get(state);
	struct pkt_buf data, ctl, udp;
	struct sluice_dest d;
	struct run_out o;
	__u64 tat;
	size_t i;
	int n;

	set_ctl_gen(f, 1);
	/* two frames exactly: after them, no room for anything */
	put_policy(f, "10.0.7.0/24", 1, RATE, 2 * V4_LEN, 2 * V4_LEN, SLUICE_MODE_ENFORCE);
	mk_tcp(&data, "10.0.7.1", 0);
	run(f, &data, &o);
	run(f, &data, &o);
	run(f, &data, &o);
	assert_int_equal(o.ret, TC_DROP);
	for (i = 0; i < sizeof(ctl_flags); i++) {
		mk(&ctl, &(struct pkt_spec){ .dst = "10.0.7.1", .proto = IPPROTO_TCP,
					     .tcp_flags = ctl_flags[i],
					     .payload = ctl_flags[i] == 0x10 ? 0 : 100 });
		tat = dest_of(f, "10.0.7.1").tat;
		run(f, &ctl, &o);
		assert_pass_untouched(&ctl, &o);
		assert_int_equal(dest_of(f, "10.0.7.1").tat, tat + (__u64)ctl.len * TICKS_PER_BYTE);
	}
	mk(&udp, &(struct pkt_spec){ .dst = "10.0.7.1", .proto = IPPROTO_UDP, .payload = 100 });
	run(f, &udp, &o);
	assert_int_equal(o.ret, TC_DROP);
	d = dest_of(f, "10.0.7.1");
	assert_int_equal(d.kind_spared_pkts[SLUICE_KIND_CONTROL], sizeof(ctl_flags));
	assert_int_equal(d.kind_dropped_pkts[SLUICE_KIND_BULK], 1);
	assert_int_equal(d.kind_dropped_pkts[SLUICE_KIND_OTHER], 1);
	assert_int_equal(d.kind_dropped_pkts[SLUICE_KIND_CONTROL], 0);
	assert_int_equal(d.dropped_pkts, 2);
	assert_int_equal(d.passed_pkts, 2 + sizeof(ctl_flags));

	/* however many, control packets run up a debt of at most two bursts */
	mk(&ctl, &(struct pkt_spec){ .dst = "10.0.7.1", .proto = IPPROTO_TCP, .tcp_flags = 0x10 });
	tat = d.tat;
	for (n = 0; n < 20; n++) {
		run(f, &ctl, &o);
		assert_pass_untouched(&ctl, &o);
	}
	d = dest_of(f, "10.0.7.1");
	assert_true(d.tat > tat);
	assert_true(d.tat - tat <= 2 * d.burst_ticks + (__u64)ctl.len * TICKS_PER_BYTE);
	assert_int_equal(d.kind_spared_pkts[SLUICE_KIND_CONTROL], sizeof(ctl_flags) + 20);
}

/* --- ECN marking --------------------------------------------------------- */

static void test_mark_ipv4_ect_sets_ce_valid_checksum(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct sluice_dest d;
	struct run_out o;
	__u64 marked_bytes = 0;

	set_ctl_gen(f, 1);
	/* mark past one frame and a half, drop past ten */
	put_policy(f, "10.0.0.0/8", 1, RATE, 10 * V4_LEN, V4_LEN + V4_LEN / 2,
		   SLUICE_MODE_ENFORCE);

	/* the first frame leaves one frame of backlog: not marked */
	mk_tcp(&b, "10.0.7.1", ECN_ECT0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	/* ECT(0) with DSCP EF: CE, DSCP kept */
	mk_tcp(&b, "10.0.7.1", 0xb8 | ECN_ECT0);
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
	assert_int_equal(o.data[b.l3_off + 1], 0xbb);
	marked_bytes += b.len;

	mk_tcp(&b, "10.0.7.1", ECN_ECT1);
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
	marked_bytes += b.len;

	/* with options: the checksum covers them, still valid */
	mk(&b, &(struct pkt_spec){ .dst = "10.0.7.1", .proto = IPPROTO_TCP, .tos = ECN_ECT0,
				   .ip_opt_len = 12, .payload = 100 });
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
	marked_bytes += b.len;

	d = dest_of(f, "10.0.7.1");
	assert_int_equal(d.passed_pkts, 4);
	assert_int_equal(d.marked_pkts, 3);
	assert_int_equal(d.marked_bytes, marked_bytes);
	assert_int_equal(d.dropped_pkts, 0);
	/* marked, not spared: the kinds say which */
	assert_int_equal(d.kind_marked_pkts[SLUICE_KIND_BULK], d.marked_pkts);
	assert_int_equal(d.kind_spared_pkts[SLUICE_KIND_BULK] + d.kind_spared_pkts[SLUICE_KIND_CONTROL], 0);
}

/* The checksum update holds for any header: a range of TOS and ids. */
static void test_mark_ipv4_checksum_many_headers(void **state)
{
	struct fx *f = fx_get(state);
	unsigned int i;

	set_ctl_gen(f, 1);
	/* mark everything, never drop */
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, 0, SLUICE_MODE_ENFORCE);
	for (i = 0; i < 256; i++) {
		struct pkt_buf b;
		struct run_out o;
		__u8 *ip;

		if ((i & 3) == ECN_NOT_ECT)
			continue;
		mk(&b, &(struct pkt_spec){ .dst = "10.0.8.1", .proto = IPPROTO_UDP,
					   .tos = i, .payload = i });
		/* vary the id so the checksum takes many values, 0xffff included */
		ip = b.data + b.l3_off;
		ip[4] = i;
		ip[5] = i * 37;
		ip[10] = ip[11] = 0;
		pkt_put16(ip + 10, pkt_csum(ip, 20));
		run(f, &b, &o);
		assert_marked_ce(&b, &o);
	}
}

static void test_mark_ipv6_traffic_class_ce(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;
	__u32 w;

	set_ctl_gen(f, 1);
	put_policy(f, "2001:db8::/32", 1, RATE, 10 * V6_LEN, V6_LEN + V6_LEN / 2,
		   SLUICE_MODE_ENFORCE);

	mk_tcp(&b, "2001:db8::71", ECN_ECT0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	/* DSCP EF, ECT(0), a flow label using all 20 bits */
	mk(&b, &(struct pkt_spec){ .dst = "2001:db8::71", .proto = IPPROTO_TCP,
				   .tos = 0xb8 | ECN_ECT0, .flow_label = 0xabcde, .payload = 400 });
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
	w = (__u32)o.data[b.l3_off] << 24 | o.data[b.l3_off + 1] << 16 |
	    o.data[b.l3_off + 2] << 8 | o.data[b.l3_off + 3];
	assert_int_equal(w, 6U << 28 | 0xbbU << 20 | 0xabcde);

	mk(&b, &(struct pkt_spec){ .dst = "2001:db8::71", .proto = IPPROTO_UDP,
				   .tos = ECN_ECT1, .flow_label = 0xfffff, .payload = 400 });
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
	assert_int_equal(dest_of(f, "2001:db8::71").marked_pkts, 2);
}

static void test_mark_behind_two_vlan_tags(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, 0, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, 0, SLUICE_MODE_ENFORCE);

	mk(&b, &(struct pkt_spec){ .dst = "10.0.9.1", .proto = IPPROTO_TCP, .tos = ECN_ECT0,
				   .vlans = 2, .payload = 400 });
	assert_int_equal(b.l3_off, 22);
	run(f, &b, &o);
	assert_marked_ce(&b, &o);

	mk(&b, &(struct pkt_spec){ .dst = "2001:db8::91", .proto = IPPROTO_TCP,
				   .tos = ECN_ECT1, .vlans = 1, .payload = 400 });
	run(f, &b, &o);
	assert_marked_ce(&b, &o);
}

static void test_mark_zone_not_ect_passes_unmodified(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;
	int i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, 0, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, RATE, BIG_BURST, 0, SLUICE_MODE_ENFORCE);
	for (i = 0; i < 3; i++) {
		mk_tcp(&b, "10.0.10.1", 0xb8 | ECN_NOT_ECT);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		mk_tcp(&b, "2001:db8::a1", 0xb8 | ECN_NOT_ECT);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
	}
	d = dest_of(f, "10.0.10.1");
	assert_int_equal(d.passed_pkts, 3);
	assert_int_equal(d.marked_pkts, 0);
	d = dest_of(f, "2001:db8::a1");
	assert_int_equal(d.passed_pkts, 3);
	assert_int_equal(d.marked_pkts, 0);
}

static void test_mark_zone_already_ce_counted_as_marked(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, V4_LEN + V4_LEN / 2,
		   SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.11.1", ECN_CE);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	assert_int_equal(dest_of(f, "10.0.11.1").marked_pkts, 0); /* below the mark */
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.11.1");
	assert_int_equal(d.marked_pkts, 1);
	assert_int_equal(d.marked_bytes, V4_LEN);
	assert_int_equal(d.passed_pkts, 2);
}

/* --- modes, overrides, generations --------------------------------------- */

static void test_monitor_mode_counts_never_acts(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	/* would mark from the first frame on, would drop from the second */
	put_policy(f, "10.0.12.0/24", 1, RATE, V4_LEN + V4_LEN / 2, V4_LEN / 2,
		   SLUICE_MODE_MONITOR);
	put_policy(f, "10.0.13.0/24", 2, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_MONITOR);

	mk_tcp(&b, "10.0.12.1", ECN_ECT0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.12.1");
	assert_int_equal(d.mode, SLUICE_MODE_MONITOR);
	assert_int_equal(d.marked_pkts, 1);
	assert_int_equal(d.passed_pkts, 1);

	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	mk_tcp(&b, "10.0.12.1", ECN_NOT_ECT);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.12.1");
	assert_int_equal(d.dropped_pkts, 2);
	assert_int_equal(d.dropped_bytes, 2 * V4_LEN);
	assert_int_equal(d.passed_pkts, 1);
	assert_int_equal(d.marked_pkts, 1);

	/* rate 0 in monitor mode: every frame a would-be drop, all passed */
	mk_tcp(&b, "10.0.13.1", ECN_ECT1);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	assert_int_equal(dest_of(f, "10.0.13.1").dropped_pkts, 1);
}

/*
 * An override in sluice_dest_ctl is read when ctl_gen moves, not before:
 * each destination caches its control values with the generation.
 */
static void test_override_applies_after_ctl_gen_moves(void **state)
{
	struct sluice_addr a = addr_of("10.0.14.1");
	struct sluice_dest_ctl ovr = {
		.rate_Bps = RATE,
		.burst_bytes = V4_LEN + V4_LEN / 2,
		.mark_thresh = V4_LEN / 2,
		.cwnd_clamp = 4,
	};
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, 10 * V4_LEN, 10 * V4_LEN, SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.14.1", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	assert_int_equal(bpf_map_update_elem(f->dest_ctl, &a, &ovr, BPF_ANY), 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.14.1");
	assert_int_equal(d.burst_bytes, 10 * V4_LEN);
	assert_int_equal(d.flags & SLUICE_DEST_F_OVERRIDE, 0);
	assert_int_equal(d.ctl_gen, 1);

	set_ctl_gen(f, 2);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP); /* two frames queued, burst now 1.5 */
	d = dest_of(f, "10.0.14.1");
	assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED | SLUICE_DEST_F_OVERRIDE);
	assert_int_equal(d.burst_bytes, ovr.burst_bytes);
	assert_int_equal(d.mark_thresh, ovr.mark_thresh);
	assert_int_equal(d.cwnd_clamp, 4);
	assert_int_equal(d.ctl_gen, 2);
	assert_int_equal(d.burst_ticks, (__u64)ovr.burst_bytes * TICKS_PER_BYTE);
	assert_int_equal(d.passed_pkts, 2);
	assert_int_equal(d.dropped_pkts, 1);

	/* a neighbour without an override keeps the policy */
	mk_tcp(&b, "10.0.14.2", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.14.2");
	assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED);
	assert_int_equal(d.burst_bytes, 10 * V4_LEN);
}

static void test_policy_change_applies_after_ctl_gen_moves(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 5);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.15.1", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	put_policy(f, "10.0.0.0/8", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o); /* cached at generation 5 */
	assert_int_equal(dest_of(f, "10.0.15.1").rate_Bps, RATE);

	set_ctl_gen(f, 6);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	assert_int_equal(dest_of(f, "10.0.15.1").rate_Bps, 0);
	assert_int_equal(dest_of(f, "10.0.15.1").ctl_gen, 6);
}

static void test_deleted_policy_unmatched_after_ctl_gen_moves(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.16.0/24", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.16.1", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	del_policy(f, "10.0.16.0/24");
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	assert_int_equal(dest_of(f, "10.0.16.1").passed_pkts, 2); /* still cached */
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 0);

	set_ctl_gen(f, 2);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 2);
	/* the entry stays for its counters, no longer matched */
	d = dest_of(f, "10.0.16.1");
	assert_int_equal(d.flags & SLUICE_DEST_F_MATCHED, 0);
	assert_int_equal(d.passed_pkts, 2);
	assert_int_equal(d.passed_bytes, 2 * V4_LEN);
}

static void test_longest_prefix_wins(void **state)
{
	static const struct {
		const char *dst;
		int ret;
		__u32 policy_id;
	} cases[] = {
		{ "10.1.5.5", TC_PASS, 2 },
		{ "10.2.0.1", TC_DROP, 1 },
		{ "10.1.2.3", TC_DROP, 3 },
		{ "10.1.2.4", TC_PASS, 2 },
	};
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "10.1.0.0/16", 2, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "10.1.2.3/32", 3, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mk_tcp(&b, cases[i].dst, 0);
		run(f, &b, &o);
		if (o.ret != cases[i].ret)
			fail_msg("%s: verdict %d, want %d", cases[i].dst, o.ret, cases[i].ret);
		assert_int_equal(dest_of(f, cases[i].dst).policy_id, cases[i].policy_id);
	}

	/* without the /16 its addresses fall back to the /8 */
	del_policy(f, "10.1.0.0/16");
	set_ctl_gen(f, 2);
	mk_tcp(&b, "10.1.5.5", 0);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	assert_int_equal(dest_of(f, "10.1.5.5").policy_id, 1);
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (__u64)ts.tv_sec * SLUICE_NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * When the daemon's lease lapses, a policy that fails open stops limiting
 * and one that fails closed keeps its limit. No lease (0) never lapses.
 */
static void test_lease_lapse_applies_fail_mode(void **state)
{
	static const struct {
		const char *what;
		__u64 lease; /* 1: long past; 2: an hour ahead; 0: none */
		int open_ret, closed_ret;
	} steps[] = {
		{ "lease valid", 2, TC_DROP, TC_DROP },
		{ "lease lapsed", 1, TC_PASS, TC_DROP },
		{ "no lease", 0, TC_DROP, TC_DROP },
		{ "lease renewed", 2, TC_DROP, TC_DROP },
	};
	struct fx *f = fx_get(state);
	struct pkt_buf open_b, closed_b;
	struct run_out o;
	size_t i;

	put_policy_fail_mode(f, "10.0.21.0/24", 1, 0, SLUICE_FAIL_OPEN);
	put_policy_fail_mode(f, "10.0.22.0/24", 2, 0, SLUICE_FAIL_CLOSED);
	mk_tcp(&open_b, "10.0.21.1", 0);
	mk_tcp(&closed_b, "10.0.22.1", 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		__u64 lease = steps[i].lease == 2 ? monotonic_ns() + 3600 * SLUICE_NSEC_PER_SEC
						  : steps[i].lease;

		set_config(f, 1, lease);
		run(f, &open_b, &o);
		if (o.ret != steps[i].open_ret)
			fail_msg("%s: fail-open policy gave verdict %d, want %d", steps[i].what,
				 o.ret, steps[i].open_ret);
		if (o.ret == TC_PASS)
			assert_pass_untouched(&open_b, &o);
		run(f, &closed_b, &o);
		if (o.ret != steps[i].closed_ret)
			fail_msg("%s: fail-closed policy gave verdict %d, want %d", steps[i].what,
				 o.ret, steps[i].closed_ret);
	}
	assert_int_equal(dest_of(f, "10.0.21.1").dropped_pkts, 3);
	assert_int_equal(dest_of(f, "10.0.22.1").dropped_pkts, 4);
}

/* --- rates at the edges -------------------------------------------------- */

/*
 * policy_validate accepts a burst of one full-size frame (1514 bytes). A
 * destination limited so must still pass full-size frames from a full
 * bucket, at any rate. 1mbit has exact arithmetic; 753mbit does not.
 */
static void test_full_size_frame_fits_burst_of_one_frame(void **state)
{
	static const struct {
		const char *prefix, *dst;
		__u64 rate;
	} cases[] = {
		{ "10.0.17.0/24", "10.0.17.1", 125000 },   /* 1mbit */
		{ "10.0.18.0/24", "10.0.18.1", 94125000 }, /* 753mbit */
		{ "10.0.19.0/24", "10.0.19.1", 169750000 }, /* 1358mbit */
	};
	struct fx *f = fx_get(state);
	int bad = 0;
	size_t i;

	set_ctl_gen(f, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		put_policy(f, cases[i].prefix, i + 1, cases[i].rate, 1514, 1514,
			   SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_buf b;
		struct run_out o;

		mk(&b, &(struct pkt_spec){ .dst = cases[i].dst, .proto = IPPROTO_TCP,
					   .payload = 1460 });
		assert_int_equal(b.len, 1514);
		run(f, &b, &o);
		if (o.ret != TC_PASS) {
			print_message("# %llu B/s, burst 1514: a 1514-byte frame from a full "
				      "bucket got verdict %d\n",
				      (unsigned long long)cases[i].rate, o.ret);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_verified_insns_below_limit),
		T(test_ipv4_tcp_charged_wire_bytes),
		T(test_ipv6_tcp_charged_wire_bytes),
		T(test_udp_and_icmp_charged_wire_bytes),
		T(test_vlan_tagged_charged_whole_frame),
		T(test_gso_charged_headers_per_segment),
		T(test_gso_ipv4_options_in_header_length),
		T(test_ipv4_fragments),
		T(test_truncated_tcp_header_matched),
		T(test_ipv4_options_beyond_frame_matched),
		T(test_unparsed_pass_untouched),
		T(test_unmatched_pass_untouched),
		T(test_v4_and_v6_policies_stay_apart),
		T(test_burst_exhausted_drops_without_charge),
		T(test_rate_zero_drops_everything),
		T(test_control_packets_are_spared_and_charged),
		T(test_mark_ipv4_ect_sets_ce_valid_checksum),
		T(test_mark_ipv4_checksum_many_headers),
		T(test_mark_ipv6_traffic_class_ce),
		T(test_mark_behind_two_vlan_tags),
		T(test_mark_zone_not_ect_passes_unmodified),
		T(test_mark_zone_already_ce_counted_as_marked),
		T(test_monitor_mode_counts_never_acts),
		T(test_override_applies_after_ctl_gen_moves),
		T(test_policy_change_applies_after_ctl_gen_moves),
		T(test_deleted_policy_unmatched_after_ctl_gen_moves),
		T(test_longest_prefix_wins),
		T(test_lease_lapse_applies_fail_mode),
		T(test_full_size_frame_fits_burst_of_one_frame),
	};
#undef T

	return cmocka_run_group_tests_name("tc_egress", tests, NULL, NULL);
}
