// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Priority classes in sluice_tc_egress, through BPF_PROG_TEST_RUN:
 * classification by DSCP and packet mark, each class's guaranteed share in
 * a bucket of its own (charged to the destination's bucket as well),
 * borrowing from the destination's bucket, and the degradation ladder as
 * the daemon publishes it in sluice_dest_ctl.
 *
 * The classes here are the daemon's defaults: shares 40/30/20/10 percent
 * (critical/default/sheddable/scavenger), DSCP 46 (EF) critical, DSCP 10
 * (AF11) sheddable, mark 7 scavenger.
 *
 * With CLASS_BURST, ten and a half frames, and RATE (see fixture.h), a
 * class's guarantee admits burst x share of its own from an idle bucket:
 * 4 critical, 3 default, 2 sheddable or 1 scavenger frame, each a frame
 * short of the next one. Everything a class passes is charged to the
 * destination's bucket, which admits borrowing up to 10 frames of backlog.
 *
 * The cgroup kind is driven too: test-run allocates the frame's socket in
 * the cgroup of the process running the test.
 */
#include "fixture.h"

#include <stdbool.h>
#include <sys/stat.h>

#include "sluice/classes.h"

#define TOS_EF   (46 << 2) /* DSCP 46: critical */
#define TOS_AF11 (10 << 2) /* DSCP 10: sheddable */
#define MARK_SCAVENGER 7

#define CLASS_BURST (10 * V4_LEN + V4_LEN / 2)
#define FRAME_TICKS ((__u64)V4_LEN * TICKS_PER_BYTE)
/* What a fresh destination passes of one class: guarantee plus borrowing. */
#define FULL_FRAMES 10

static const __u8 shares[SLUICE_CLASSES] = { 40, 30, 20, 10 };
static const __u8 no_shares[SLUICE_CLASSES];

static const char *const class_names[SLUICE_CLASSES] = {
	"critical", "default", "sheddable", "scavenger",
};

/* How traffic of each class is sent here: its TOS byte and its mark. */
static const struct {
	__u8 tos;
	__u32 mark;
} class_traffic[SLUICE_CLASSES] = {
	[SLUICE_CLASS_CRITICAL] = { TOS_EF, 0 },
	[SLUICE_CLASS_DEFAULT] = { 0, 0 },
	[SLUICE_CLASS_SHEDDABLE] = { TOS_AF11, 0 },
	[SLUICE_CLASS_SCAVENGER] = { 0, MARK_SCAVENGER },
};

/* The classify rules, in sluice_classify, and the kinds they use. */
static void put_rules(struct fx *f)
{
	put_class_rule(f, SLUICE_CLASSIFY_DSCP, 46, SLUICE_CLASS_CRITICAL);
	put_class_rule(f, SLUICE_CLASSIFY_DSCP, 10, SLUICE_CLASS_SHEDDABLE);
	put_class_rule(f, SLUICE_CLASSIFY_MARK, MARK_SCAVENGER, SLUICE_CLASS_SCAVENGER);
}

static struct fx *classes_fx(void **state)
{
	struct fx *f = fx_get(state);

	put_rules(f);
	set_classes(f, shares, SLUICE_CLASSIFY_DSCP | SLUICE_CLASSIFY_MARK);
	set_ctl_gen(f, 1);
	return f;
}

/*
 * Send n frames of one class to dst; returns how many passed. Nothing
 * refills noticeably during a test, so a pass after a drop means the
 * buckets are not what the test thinks: that fails at once.
 */
static int send_class(struct fx *f, const char *dst, __u8 cls, int n)
{
	bool dropped = false;
	struct pkt_buf b;
	struct run_out o;
	int i, passed = 0;

	mk_tcp(&b, dst, class_traffic[cls].tos);
	for (i = 0; i < n; i++) {
		run_mark(f, &b, class_traffic[cls].mark, &o);
		if (o.ret == TC_DROP) {
			dropped = true;
			continue;
		}
		assert_pass_untouched(&b, &o);
		if (dropped)
			fail_msg("%s: %s frame %d passed after a drop", dst, class_names[cls],
				 i + 1);
		passed++;
	}
	return passed;
}

/* Backlog of the destination's bucket at its last packet, in frames. */
static double backlog_frames(const struct sluice_dest *d)
{
	__u64 now = sluice_ns_to_ticks(d->last_ns);

	return d->tat > now ? (double)(d->tat - now) / FRAME_TICKS : 0.0;
}

static void assert_class_bytes(const struct sluice_dest *d, const __u64 passed[SLUICE_CLASSES],
			       const __u64 dropped[SLUICE_CLASSES])
{
	int bad = 0, i;

	for (i = 0; i < SLUICE_CLASSES; i++) {
		if (d->class_passed_bytes[i] != passed[i]) {
			print_message("# %s passed %llu bytes, want %llu\n", class_names[i],
				      (unsigned long long)d->class_passed_bytes[i],
				      (unsigned long long)passed[i]);
			bad++;
		}
		if (d->class_dropped_bytes[i] != dropped[i]) {
			print_message("# %s dropped %llu bytes, want %llu\n", class_names[i],
				      (unsigned long long)d->class_dropped_bytes[i],
				      (unsigned long long)dropped[i]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --- without classes ----------------------------------------------------- */

/*
 * No shares and no kinds is how sluiced publishes a config without
 * classes: the destination's bucket alone decides, whatever the frames'
 * DSCP or mark, even with rules left in sluice_classify, and no class
 * counter or class bucket moves.
 */
static void test_classless_config_unchanged(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;
	int i;

	put_rules(f);
	set_classes(f, no_shares, 0);
	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, V4_LEN + V4_LEN / 2, BIG_BURST,
		   SLUICE_MODE_ENFORCE);

	mk_tcp(&b, "10.0.1.1", TOS_EF);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.1.1");
	assert_int_equal(d.tat, sluice_ns_to_ticks(d.last_ns) + FRAME_TICKS);

	/* one frame and a half of burst: the second frame is dropped,
	 * whichever class it would have been in */
	mk_tcp(&b, "10.0.1.1", TOS_EF);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	mk_tcp(&b, "10.0.1.1", TOS_AF11);
	run_mark(f, &b, MARK_SCAVENGER, &o);
	assert_int_equal(o.ret, TC_DROP);

	d = dest_of(f, "10.0.1.1");
	assert_int_equal(d.passed_pkts, 1);
	assert_int_equal(d.passed_bytes, V4_LEN);
	assert_int_equal(d.dropped_pkts, 2);
	assert_int_equal(d.dropped_bytes, 2 * V4_LEN);
	assert_int_equal(d.ladder, 0);
	for (i = 0; i < SLUICE_CLASSES; i++) {
		assert_int_equal(d.class_tat[i], 0);
		assert_int_equal(d.class_passed_bytes[i], 0);
		assert_int_equal(d.class_dropped_bytes[i], 0);
	}
}

/* --- classification ------------------------------------------------------ */

/*
 * Each frame's bytes land in its class's slot and nowhere else. The mark
 * wins over the DSCP; a mark or DSCP without a rule falls through to the
 * next kind, and to default. ECN bits are not part of the DSCP.
 */
static void test_dscp_and_mark_classification(void **state)
{
	static const struct {
		const char *what;
		__u8 tos;
		__u32 mark;
		__u8 cls;
	} cases[] = {
		{ "DSCP 46", TOS_EF, 0, SLUICE_CLASS_CRITICAL },
		{ "DSCP 46, ECT(0)", TOS_EF | ECN_ECT0, 0, SLUICE_CLASS_CRITICAL },
		{ "DSCP 10", TOS_AF11, 0, SLUICE_CLASS_SHEDDABLE },
		{ "DSCP 10, CE", TOS_AF11 | ECN_CE, 0, SLUICE_CLASS_SHEDDABLE },
		{ "DSCP 0", 0, 0, SLUICE_CLASS_DEFAULT },
		{ "DSCP 12, no rule", 12 << 2, 0, SLUICE_CLASS_DEFAULT },
		{ "DSCP 47, no rule", 47 << 2, 0, SLUICE_CLASS_DEFAULT },
		{ "mark 7", 0, MARK_SCAVENGER, SLUICE_CLASS_SCAVENGER },
		{ "mark 7 over DSCP 46", TOS_EF, MARK_SCAVENGER, SLUICE_CLASS_SCAVENGER },
		{ "mark 8, no rule: DSCP 46", TOS_EF, 8, SLUICE_CLASS_CRITICAL },
		{ "mark 8, no rule: DSCP 0", 0, 8, SLUICE_CLASS_DEFAULT },
	};
	struct fx *f = classes_fx(state);
	__u64 want[SLUICE_CLASSES] = { 0 };
	int bad = 0, i;
	size_t c;

	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		/* a size of its own per frame, so a misplaced frame shows */
		mk(&b, &(struct pkt_spec){ .dst = "10.0.2.1", .proto = IPPROTO_UDP,
					   .tos = cases[c].tos, .payload = 100 + c });
		run_mark(f, &b, cases[c].mark, &o);
		assert_pass_untouched(&b, &o);
		want[cases[c].cls] += b.len;
		d = dest_of(f, "10.0.2.1");
		for (i = 0; i < SLUICE_CLASSES; i++)
			if (d.class_passed_bytes[i] != want[i]) {
				print_message("# %s: %s has %llu bytes, want %llu (class %s)\n",
					      cases[c].what, class_names[i],
					      (unsigned long long)d.class_passed_bytes[i],
					      (unsigned long long)want[i],
					      class_names[cases[c].cls]);
				bad++;
			}
	}
	assert_int_equal(bad, 0);
	assert_int_equal(dest_of(f, "10.0.2.1").passed_pkts, sizeof(cases) / sizeof(cases[0]));
}

/* Only the kinds in classify_kinds are looked up: with DSCP alone, a mark
 * that has a rule changes nothing. */
static void test_only_configured_kinds_looked_up(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	put_rules(f);
	set_classes(f, shares, SLUICE_CLASSIFY_DSCP);
	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	mk_tcp(&b, "10.0.3.1", TOS_EF);
	run_mark(f, &b, MARK_SCAVENGER, &o);
	assert_pass_untouched(&b, &o);
	mk_tcp(&b, "10.0.3.1", 0);
	run_mark(f, &b, MARK_SCAVENGER, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.3.1");
	assert_int_equal(d.class_passed_bytes[SLUICE_CLASS_CRITICAL], V4_LEN);
	assert_int_equal(d.class_passed_bytes[SLUICE_CLASS_DEFAULT], V4_LEN);
	assert_int_equal(d.class_passed_bytes[SLUICE_CLASS_SCAVENGER], 0);
}

/*
 * IPv6 carries the DSCP across the first two bytes (the traffic class sits
 * between the version and the flow label): all of it counts, and none of
 * the flow label does. DSCP 45 and 47 differ from 46 in the bits of the
 * second byte only.
 */
static void test_ipv6_traffic_class_classification(void **state)
{
	static const struct {
		const char *what;
		__u8 tc;
		__u32 mark;
		__u8 cls;
	} cases[] = {
		{ "DSCP 46", TOS_EF, 0, SLUICE_CLASS_CRITICAL },
		{ "DSCP 46, ECT(1)", TOS_EF | ECN_ECT1, 0, SLUICE_CLASS_CRITICAL },
		{ "DSCP 45", 45 << 2, 0, SLUICE_CLASS_DEFAULT },
		{ "DSCP 47", 47 << 2, 0, SLUICE_CLASS_DEFAULT },
		{ "DSCP 10", TOS_AF11, 0, SLUICE_CLASS_SHEDDABLE },
		{ "DSCP 11", 11 << 2, 0, SLUICE_CLASS_DEFAULT },
		{ "DSCP 0", 0, 0, SLUICE_CLASS_DEFAULT },
		{ "mark 7 over DSCP 46", TOS_EF, MARK_SCAVENGER, SLUICE_CLASS_SCAVENGER },
	};
	struct fx *f = classes_fx(state);
	int bad = 0;
	size_t c;

	put_policy(f, "2001:db8::/32", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char dst[64];
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;
		int i;

		/* a destination per case: its counters say where the frame went */
		snprintf(dst, sizeof(dst), "2001:db8::6:%zx", c + 1);
		mk(&b, &(struct pkt_spec){ .dst = dst, .proto = IPPROTO_TCP, .tos = cases[c].tc,
					   .flow_label = 0xfffff, .payload = 400 });
		assert_int_equal(b.len, V6_LEN);
		run_mark(f, &b, cases[c].mark, &o);
		assert_pass_untouched(&b, &o);
		d = dest_of(f, dst);
		for (i = 0; i < SLUICE_CLASSES; i++)
			if (d.class_passed_bytes[i] != (i == cases[c].cls ? V6_LEN : 0)) {
				print_message("# %s: %s has %llu bytes, want the frame in %s\n",
					      cases[c].what, class_names[i],
					      (unsigned long long)d.class_passed_bytes[i],
					      class_names[cases[c].cls]);
				bad++;
			}
	}
	assert_int_equal(bad, 0);
}

/*
 * cgroup v2 id of this process, from /proc/self/cgroup and the cgroup2
 * mount; 0 when there is none to be found.
 */
static __u64 own_cgroup_id(void)
{
	char line[4096], mnt[4096] = "", path[8192], rel[4096] = "";
	struct stat st;
	FILE *fp;

	fp = fopen("/proc/self/cgroup", "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "0::", 3)) {
			snprintf(rel, sizeof(rel), "%s", line + 3);
			rel[strcspn(rel, "\n")] = '\0';
		}
	fclose(fp);
	fp = fopen("/proc/self/mounts", "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		char dev[256], dir[4096], type[64];

		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	}
	fclose(fp);
	if (!mnt[0] || !rel[0])
		return 0;
	snprintf(path, sizeof(path), "%s%s", mnt, rel);
	if (stat(path, &st))
		return 0;
	return st.st_ino; /* a cgroup2 directory's inode is its cgroup id */
}

/*
 * The cgroup wins over the mark and the DSCP. Test-run gives the frame a
 * socket of its own, allocated in the cgroup of the process running the
 * test, so bpf_skb_cgroup_id() sees this process's cgroup.
 */
static void test_cgroup_classification(void **state)
{
	struct fx *f = fx_get(state);
	__u64 cgroup = own_cgroup_id();
	struct sluice_class_key k = { .kind = SLUICE_CLASSIFY_CGROUP, .value = cgroup };
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;

	if (!cgroup) {
		print_message("# SKIP no cgroup v2 id for this process\n");
		skip();
	}
	put_rules(f);
	put_class_rule(f, SLUICE_CLASSIFY_CGROUP, cgroup, SLUICE_CLASS_SHEDDABLE);
	set_classes(f, shares, SLUICE_CLASSIFY_DSCP | SLUICE_CLASSIFY_MARK |
			       SLUICE_CLASSIFY_CGROUP);
	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	mk_tcp(&b, "10.0.4.1", TOS_EF);
	run_mark(f, &b, MARK_SCAVENGER, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.4.1");
	assert_class_bytes(&d, (const __u64[SLUICE_CLASSES]){ 0, 0, V4_LEN, 0 },
			   (const __u64[SLUICE_CLASSES]){ 0 });

	/* without a rule for its cgroup, the mark decides */
	assert_int_equal(bpf_map_delete_elem(f->classify, &k), 0);
	run_mark(f, &b, MARK_SCAVENGER, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.4.1");
	assert_class_bytes(&d, (const __u64[SLUICE_CLASSES]){ 0, 0, V4_LEN, V4_LEN },
			   (const __u64[SLUICE_CLASSES]){ 0 });
}

/* --- guarantees and borrowing ------------------------------------------- */

/*
 * Priority: a class within its guarantee passes although borrowers have
 * filled the destination's bucket, and what it passes is charged to that
 * bucket too, past the burst, so that borrowers see the room it took.
 */
static void test_guarantee_passes_when_borrowers_filled_dest(void **state)
{
	struct fx *f = classes_fx(state);
	struct sluice_dest before, d;

	put_policy(f, "10.0.0.0/8", 1, RATE, CLASS_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	/* default: 3 frames on its guarantee, 7 borrowed, then the
	 * destination's bucket is full */
	assert_int_equal(send_class(f, "10.0.5.1", SLUICE_CLASS_DEFAULT, 11), FULL_FRAMES);
	before = dest_of(f, "10.0.5.1");
	assert_true(backlog_frames(&before) > 9.5);

	/* critical: its whole guarantee, 4 frames, each charged to the
	 * destination; the fifth would have to borrow, and cannot */
	assert_int_equal(send_class(f, "10.0.5.1", SLUICE_CLASS_CRITICAL, 5), 4);
	d = dest_of(f, "10.0.5.1");
	assert_int_equal(d.tat, before.tat + 4 * FRAME_TICKS);
	assert_true(backlog_frames(&d) > 13.5);
	assert_true(d.tat - sluice_ns_to_ticks(d.last_ns) > d.burst_ticks);

	/* default has neither guarantee nor room left */
	assert_int_equal(send_class(f, "10.0.5.1", SLUICE_CLASS_DEFAULT, 1), 0);

	d = dest_of(f, "10.0.5.1");
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 4 * V4_LEN, 10 * V4_LEN, 0, 0 },
			   (const __u64[SLUICE_CLASSES]){ V4_LEN, 2 * V4_LEN, 0, 0 });
	assert_int_equal(d.passed_pkts, 14);
	assert_int_equal(d.passed_bytes, 14 * V4_LEN);
	assert_int_equal(d.dropped_pkts, 3);
	assert_int_equal(d.dropped_bytes, 3 * V4_LEN);
}

/*
 * Borrowing takes the destination's bucket while it has room, and is
 * dropped, without a charge, once it has none. The class's own bucket is
 * charged by its guarantee only.
 */
static void test_borrowing_until_dest_bucket_full(void **state)
{
	struct fx *f = classes_fx(state);
	struct sluice_dest first, d;
	int i;

	put_policy(f, "10.0.0.0/8", 1, RATE, CLASS_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);

	/* scavenger: one frame on its guarantee */
	assert_int_equal(send_class(f, "10.0.6.1", SLUICE_CLASS_SCAVENGER, 1), 1);
	first = dest_of(f, "10.0.6.1");
	assert_int_equal(first.class_tat[SLUICE_CLASS_SCAVENGER],
			 sluice_ns_to_ticks(first.last_ns) + FRAME_TICKS * 100 / 10);
	assert_int_equal(first.tat, sluice_ns_to_ticks(first.last_ns) + FRAME_TICKS);

	/* then nine borrowed, one frame of backlog each */
	for (i = 2; i <= FULL_FRAMES; i++) {
		assert_int_equal(send_class(f, "10.0.6.1", SLUICE_CLASS_SCAVENGER, 1), 1);
		d = dest_of(f, "10.0.6.1");
		assert_int_equal(d.tat, first.tat + (i - 1) * FRAME_TICKS);
		assert_int_equal(d.class_tat[SLUICE_CLASS_SCAVENGER],
				 first.class_tat[SLUICE_CLASS_SCAVENGER]);
	}

	/* the bucket is full: borrowing drops, and charges nothing */
	assert_int_equal(send_class(f, "10.0.6.1", SLUICE_CLASS_SCAVENGER, 2), 0);
	d = dest_of(f, "10.0.6.1");
	assert_int_equal(d.tat, first.tat + (FULL_FRAMES - 1) * FRAME_TICKS);

	/* sheddable still has its guarantee, 2 frames, and no room to borrow */
	assert_int_equal(send_class(f, "10.0.6.1", SLUICE_CLASS_SHEDDABLE, 3), 2);

	d = dest_of(f, "10.0.6.1");
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 0, 0, 2 * V4_LEN, 10 * V4_LEN },
			   (const __u64[SLUICE_CLASSES]){ 0, 0, V4_LEN, 2 * V4_LEN });
	assert_int_equal(d.dropped_pkts, 3);
}

/* A destination at rate 0 passes nothing, guarantee or not. */
static void test_rate_zero_drops_every_class(void **state)
{
	struct fx *f = classes_fx(state);
	struct sluice_dest d;
	int cls;

	put_policy(f, "10.0.0.0/8", 1, 0, CLASS_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (cls = 0; cls < SLUICE_CLASSES; cls++)
		assert_int_equal(send_class(f, "10.0.7.1", cls, 1), 0);
	d = dest_of(f, "10.0.7.1");
	assert_class_bytes(&d, (const __u64[SLUICE_CLASSES]){ 0 },
			   (const __u64[SLUICE_CLASSES]){ V4_LEN, V4_LEN, V4_LEN, V4_LEN });
	assert_int_equal(d.tat, 0);
}

/* --- the degradation ladder ---------------------------------------------- */

static struct sluice_dest_ctl ladder_override(__u8 step)
{
	return (struct sluice_dest_ctl){
		.rate_Bps = RATE,
		.burst_bytes = CLASS_BURST,
		.mark_thresh = BIG_BURST,
		.ladder = step,
		.reason = SLUICE_REASON_PRESSURE,
	};
}

/*
 * Each step on a fresh destination per class: how many of 13 frames
 * pass. Full is guarantee and borrowing (10 frames), floor the guarantee
 * alone (4/3/2/1 frames), none nothing; and every drop is counted in the
 * class's dropped bytes.
 */
static void test_ladder_steps(void **state)
{
	static const int want[SLUICE_LADDER_MAX + 1][SLUICE_CLASSES] = {
		/* critical, default, sheddable, scavenger */
		{ FULL_FRAMES, FULL_FRAMES, FULL_FRAMES, FULL_FRAMES },
		{ FULL_FRAMES, FULL_FRAMES, FULL_FRAMES, 0 },  /* scavenger stops */
		{ FULL_FRAMES, FULL_FRAMES, 2, 0 },            /* sheddable: floor */
		{ FULL_FRAMES, 3, 0, 0 },                      /* sheddable stops, default: floor */
	};
	struct fx *f = classes_fx(state);
	int bad = 0, step, cls;
	const int n = 13;

	/* a policy that would let everything through: the override rules */
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (step = 0; step <= SLUICE_LADDER_MAX; step++)
		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			struct sluice_dest_ctl ovr = ladder_override(step);
			char dst[32];

			snprintf(dst, sizeof(dst), "10.0.8.%d", step * 10 + cls + 1);
			put_override(f, dst, &ovr);
		}
	set_ctl_gen(f, 2); /* as the daemon publishes its overrides */

	for (step = 0; step <= SLUICE_LADDER_MAX; step++)
		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			__u64 passed[SLUICE_CLASSES] = { 0 }, dropped[SLUICE_CLASSES] = { 0 };
			struct sluice_dest d;
			char dst[32];
			int got;

			snprintf(dst, sizeof(dst), "10.0.8.%d", step * 10 + cls + 1);
			got = send_class(f, dst, cls, n);
			if (got != want[step][cls]) {
				print_message("# step %d: %s passed %d of %d frames, want %d\n",
					      step, class_names[cls], got, n, want[step][cls]);
				bad++;
			}
			d = dest_of(f, dst);
			assert_int_equal(d.ladder, step);
			assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED | SLUICE_DEST_F_OVERRIDE);
			passed[cls] = (__u64)got * V4_LEN;
			dropped[cls] = (__u64)(n - got) * V4_LEN;
			assert_class_bytes(&d, passed, dropped);
			assert_int_equal(d.dropped_pkts, n - got);
			assert_int_equal(d.dropped_bytes, dropped[cls]);
			/* floor and none leave the destination's bucket room */
			if (got < FULL_FRAMES)
				assert_true(backlog_frames(&d) < got + 0.5);
		}
	assert_int_equal(bad, 0);
}

/*
 * Critical keeps its guarantee and borrowing at the top step, also when
 * default has used its floor first.
 */
static void test_critical_borrows_at_top_step(void **state)
{
	struct sluice_dest_ctl ovr = ladder_override(SLUICE_LADDER_MAX);
	struct fx *f = classes_fx(state);
	struct sluice_dest d;

	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_override(f, "10.0.9.1", &ovr);
	set_ctl_gen(f, 2);

	assert_int_equal(send_class(f, "10.0.9.1", SLUICE_CLASS_DEFAULT, 4), 3);
	/* 4 on its guarantee, 3 borrowed up to 10 frames of backlog */
	assert_int_equal(send_class(f, "10.0.9.1", SLUICE_CLASS_CRITICAL, 8), 7);
	assert_int_equal(send_class(f, "10.0.9.1", SLUICE_CLASS_SHEDDABLE, 1), 0);
	d = dest_of(f, "10.0.9.1");
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 7 * V4_LEN, 3 * V4_LEN, 0, 0 },
			   (const __u64[SLUICE_CLASSES]){ V4_LEN, V4_LEN, V4_LEN, 0 });
}

/*
 * With the daemon's split by use (class_pct), a class's guarantee is the
 * part it is paced at, not its configured share: critical paced at 70%
 * passes 7 frames although default filled the destination's bucket
 * (with its configured 40%, 4 would); a class given no part has no
 * guarantee and only borrows.
 */
static void test_guarantee_follows_the_split_by_use(void **state)
{
	struct sluice_dest_ctl ovr = ladder_override(0);
	struct fx *f = classes_fx(state);
	struct sluice_dest d;

	ovr.class_pct[SLUICE_CLASS_CRITICAL] = 70;
	ovr.class_pct[SLUICE_CLASS_SHEDDABLE] = 30;
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_override(f, "10.0.11.1", &ovr);
	set_ctl_gen(f, 2);

	/* default: no part of its own, 10 frames borrowed, then no room */
	assert_int_equal(send_class(f, "10.0.11.1", SLUICE_CLASS_DEFAULT, 11), FULL_FRAMES);
	/* critical: 7 frames on its 70%, the eighth would have to borrow */
	assert_int_equal(send_class(f, "10.0.11.1", SLUICE_CLASS_CRITICAL, 8), 7);
	d = dest_of(f, "10.0.11.1");
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 7 * V4_LEN, 10 * V4_LEN, 0, 0 },
			   (const __u64[SLUICE_CLASSES]){ V4_LEN, V4_LEN, 0, 0 });
}

/*
 * A destination takes a new step when ctl_gen moves, not before: the
 * entry caches its ladder with the rest of its control values.
 */
static void test_ladder_follows_ctl_gen(void **state)
{
	struct sluice_dest_ctl ovr = ladder_override(0);
	struct fx *f = classes_fx(state);
	struct sluice_dest d;

	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_override(f, "10.0.10.1", &ovr);
	set_ctl_gen(f, 2);
	/* its guarantee */
	assert_int_equal(send_class(f, "10.0.10.1", SLUICE_CLASS_SCAVENGER, 1), 1);

	ovr.ladder = 1;
	put_override(f, "10.0.10.1", &ovr);
	assert_int_equal(send_class(f, "10.0.10.1", SLUICE_CLASS_SCAVENGER, 1), 1);
	assert_int_equal(dest_of(f, "10.0.10.1").ladder, 0);

	set_ctl_gen(f, 3);
	assert_int_equal(send_class(f, "10.0.10.1", SLUICE_CLASS_SCAVENGER, 1), 0);
	assert_int_equal(dest_of(f, "10.0.10.1").ladder, 1);
	assert_int_equal(send_class(f, "10.0.10.1", SLUICE_CLASS_DEFAULT, 1), 1);

	ovr.ladder = 0;
	put_override(f, "10.0.10.1", &ovr);
	set_ctl_gen(f, 4);
	assert_int_equal(send_class(f, "10.0.10.1", SLUICE_CLASS_SCAVENGER, 1), 1);
	d = dest_of(f, "10.0.10.1");
	assert_int_equal(d.ladder, 0);
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 0, V4_LEN, 0, 3 * V4_LEN },
			   (const __u64[SLUICE_CLASSES]){ 0, 0, 0, V4_LEN });
}

/* Monitor mode counts what classes and the ladder would drop, and passes
 * every frame as it came. */
static void test_monitor_mode_counts_never_drops(void **state)
{
	struct sluice_dest_ctl ovr = ladder_override(2);
	struct fx *f = classes_fx(state);
	struct sluice_dest d;

	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_MONITOR);
	put_override(f, "10.0.11.1", &ovr);
	set_ctl_gen(f, 2);

	/* send_class fails on anything but a pass of the frame unchanged */
	assert_int_equal(send_class(f, "10.0.11.1", SLUICE_CLASS_SCAVENGER, 2), 2);
	assert_int_equal(send_class(f, "10.0.11.1", SLUICE_CLASS_SHEDDABLE, 3), 3);
	assert_int_equal(send_class(f, "10.0.11.1", SLUICE_CLASS_DEFAULT, 10), 10);
	d = dest_of(f, "10.0.11.1");
	assert_int_equal(d.mode, SLUICE_MODE_MONITOR);
	assert_int_equal(d.ladder, 2);
	/* would-be: scavenger none; sheddable its 2 on the guarantee; default
	 * 3 on its guarantee and 5 borrowed, up to 10 frames of backlog */
	assert_class_bytes(&d,
			   (const __u64[SLUICE_CLASSES]){ 0, 8 * V4_LEN, 2 * V4_LEN, 0 },
			   (const __u64[SLUICE_CLASSES]){ 0, 2 * V4_LEN, V4_LEN, 2 * V4_LEN });
	assert_int_equal(d.passed_pkts, 10);
	assert_int_equal(d.dropped_pkts, 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_classless_config_unchanged),
		T(test_dscp_and_mark_classification),
		T(test_only_configured_kinds_looked_up),
		T(test_ipv6_traffic_class_classification),
		T(test_cgroup_classification),
		T(test_guarantee_passes_when_borrowers_filled_dest),
		T(test_borrowing_until_dest_bucket_full),
		T(test_rate_zero_drops_every_class),
		T(test_ladder_steps),
		T(test_critical_borrows_at_top_step),
		T(test_guarantee_follows_the_split_by_use),
		T(test_ladder_follows_ctl_gen),
		T(test_monitor_mode_counts_never_drops),
	};
#undef T

	return cmocka_run_group_tests_name("tc_classes", tests, NULL, NULL);
}
