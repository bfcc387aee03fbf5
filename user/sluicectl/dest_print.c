// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A destination as the operator sees it. An entry caches the control
 * values of its policy (or override) as of some ctl_gen, and the BPF side
 * re-reads them at the next packet after a change: what is shown is what
 * the bucket uses now, and "stale" says a change still waits for that
 * packet. The override, when there is one, is the controller's latest
 * decision and carries why it was made. Tokens, idle time and busy
 * connections are computed against CLOCK_MONOTONIC, the clock of
 * bpf_ktime_get_ns(). With priority classes, the entry also counts each
 * class's bytes, and the ladder step says what each class may send.
 */
#include <stdio.h>

#include "lib/addr.h"
#include "lib/policy.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluice/bucket.h"
#include "sluice/classes.h"
#include "sluicectl/sluicectl.h"

/* The policy an entry belongs to; NULL once that policy is gone. */
static const struct policy_entry *entry_policy(const struct dest_ctx *c,
					       const struct sluice_dest *d)
{
	if (!(d->flags & SLUICE_DEST_F_MATCHED))
		return NULL;
	return policy_set_find_id(&c->policies, d->policy_id);
}

/* Bytes the bucket would admit now. Rate 0 admits nothing, whatever
 * the depth of the bucket. */
static __u64 entry_tokens(const struct dest_ctx *c, const struct sluice_dest *d)
{
	if (!d->rate_Bps)
		return 0;
	return sluice_bucket_tokens(d->tat, sluice_ns_to_ticks(c->now), d->burst_bytes, d->rate_Bps);
}

static __u64 entry_idle_ns(const struct dest_ctx *c, const struct sluice_dest *d)
{
	return c->now > d->last_ns ? c->now - d->last_ns : 0;
}

/* enum sluice_kind, as dest show names it. */
static const char *const kind_names[SLUICE_KINDS] = {
	[SLUICE_KIND_BULK] = "bulk",
	[SLUICE_KIND_LIGHT] = "light",
	[SLUICE_KIND_CONTROL] = "control",
	[SLUICE_KIND_OTHER] = "other",
};

/* Packets by kind, as {"bulk": n, ...}. */
static cJSON *kinds_json(const __u64 pkts[SLUICE_KINDS])
{
	cJSON *j = cJSON_CreateObject();
	int k;

	for (k = 0; k < SLUICE_KINDS; k++)
		json_add_u64(j, kind_names[k], pkts[k]);
	return j;
}

/* "  bulk 3 light 0 ..." for the text view. */
static void print_kinds(const char *what, const __u64 pkts[SLUICE_KINDS])
{
	int k;

	printf("	%-9s", what);
	for (k = 0; k < SLUICE_KINDS; k++)
		printf(" %s %llu", kind_names[k], (unsigned long long)pkts[k]);
	printf(" pkts\n");
}

static cJSON *entry_json(const struct dest_ctx *c, const struct sluice_dest *d)
{
	const struct policy_entry *pe = entry_policy(c, d);
	char prefix[SLUICE_ADDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	json_add_u64(o, "policy_id", d->policy_id);
	if (pe)
		cJSON_AddStringToObject(o, "policy_prefix",
					format_prefix(prefix, sizeof(prefix), &pe->key));
	else
		cJSON_AddNullToObject(o, "policy_prefix");
	cJSON_AddBoolToObject(o, "matched", !!(d->flags & SLUICE_DEST_F_MATCHED));
	cJSON_AddBoolToObject(o, "from_override", !!(d->flags & SLUICE_DEST_F_OVERRIDE));
	cJSON_AddBoolToObject(o, "ctl_stale", d->ctl_gen != c->ctl_gen);
	cJSON_AddStringToObject(o, "mode", mode_name(d->mode));
	json_add_u64(o, "rate_bps", rate_bps(d->rate_Bps));
	json_add_u64(o, "burst_bytes", d->burst_bytes);
	json_add_u64(o, "ecn_threshold_bytes", d->mark_thresh);
	json_add_u64(o, "cwnd_clamp_segs", d->cwnd_clamp);
	cJSON_AddStringToObject(o, "breaker", breaker_name(d->breaker));
	json_add_u64(o, "ladder_step", d->ladder);
	json_add_u64(o, "probe_gap_us", d->probe_gap_ns / 1000);
	json_add_u64(o, "connects_refused", d->connects_refused);
	json_add_u64(o, "tokens_bytes", entry_tokens(c, d));
	json_add_u64(o, "idle_ns", entry_idle_ns(c, d));
	json_add_u64(o, "passed_pkts", d->passed_pkts);
	json_add_u64(o, "passed_bytes", d->passed_bytes);
	json_add_u64(o, "marked_pkts", d->marked_pkts);
	json_add_u64(o, "marked_bytes", d->marked_bytes);
	json_add_u64(o, "dropped_pkts", d->dropped_pkts);
	json_add_u64(o, "dropped_bytes", d->dropped_bytes);
	cJSON_AddItemToObject(o, "dropped_by_kind", kinds_json(d->kind_dropped_pkts));
	cJSON_AddItemToObject(o, "marked_by_kind", kinds_json(d->kind_marked_pkts));
	cJSON_AddItemToObject(o, "spared_by_kind", kinds_json(d->kind_spared_pkts));
	return o;
}

static cJSON *override_json(const struct sluice_dest_ctl *o)
{
	cJSON *j = cJSON_CreateObject();

	json_add_u64(j, "rate_bps", rate_bps(o->rate_Bps));
	json_add_u64(j, "burst_bytes", o->burst_bytes);
	json_add_u64(j, "ecn_threshold_bytes", o->mark_thresh);
	json_add_u64(j, "cwnd_clamp_segs", o->cwnd_clamp);
	cJSON_AddStringToObject(j, "reason", reason_name(o->reason));
	cJSON_AddStringToObject(j, "reason_text", reason_text(o->reason));
	json_add_pressure(j, o->pressure_milli);
	cJSON_AddStringToObject(j, "breaker", breaker_name(o->breaker));
	json_add_u64(j, "ladder_step", o->ladder);
	json_add_u64(j, "probe_gap_us", o->probe_gap_ns / 1000);
	return j;
}

static void json_add_opt_u64(cJSON *o, const char *key, int err, unsigned long long v)
{
	if (err)
		cJSON_AddNullToObject(o, key);
	else
		json_add_u64(o, key, v);
}

/*
 * Connections counted lately in one of the busy epochs' counters: the
 * larger of this epoch's count and the last one's. Counts of epochs
 * further back are history, not "lately".
 */
static __u32 signals_lately(const struct dest_ctx *c, const struct sluice_signals *s,
			    __u32 now, __u32 prev)
{
	__u64 epoch = c->now / SLUICE_BUSY_EPOCH_NS;

	if (s->busy_epoch == epoch)
		return now > prev ? now : prev;
	if (s->busy_epoch + 1 == epoch)
		return now;
	return 0;
}

/* Connections that had data acknowledged lately. */
static __u32 signals_busy(const struct dest_ctx *c, const struct sluice_signals *s)
{
	return signals_lately(c, s, s->busy_now, s->busy_prev);
}

/* Of them, the bulk ones: the sock_ops program shares the rate among these. */
static __u32 signals_bulk(const struct dest_ctx *c, const struct sluice_signals *s)
{
	return signals_lately(c, s, s->bulk_now, s->bulk_prev);
}

/* The same two counts for one class: its part is shared among its bulk. */
static __u32 class_busy(const struct dest_ctx *c, const struct sluice_signals *s, __u8 cls)
{
	return signals_lately(c, s, s->class_busy_now[cls], s->class_busy_prev[cls]);
}

static __u32 class_bulk(const struct dest_ctx *c, const struct sluice_signals *s, __u8 cls)
{
	return signals_lately(c, s, s->class_bulk_now[cls], s->class_bulk_prev[cls]);
}

static cJSON *signals_json(const struct dest_ctx *c, const struct sluice_signals *s)
{
	unsigned long long mean = 0, median = 0;
	int no_mean = rtt_mean_us(s, &mean), no_median = rtt_median_us(s, &median);
	cJSON *j = cJSON_CreateObject();

	json_add_u64(j, "conns_active", s->conns_active);
	json_add_u64(j, "conns_busy", signals_busy(c, s));
	json_add_u64(j, "conns_bulk", signals_bulk(c, s));
	json_add_u64(j, "conns_opened", s->conns_opened);
	json_add_u64(j, "conns_closed", s->conns_closed);
	json_add_u64(j, "connects", s->connects);
	json_add_u64(j, "connect_fails", s->connect_fails);
	json_add_u64(j, "rtt_samples", s->rtt_samples);
	json_add_opt_u64(j, "rtt_mean_us", no_mean, mean);
	json_add_opt_u64(j, "rtt_median_us", no_median, median);
	json_add_opt_u64(j, "rtt_last_us", !s->rtt_samples, s->rtt_last_us);
	json_add_u64(j, "retrans_segs", s->retrans);
	json_add_u64(j, "rtos", s->rtos);
	json_add_u64(j, "bytes_acked", s->bytes_acked);
	json_add_u64(j, "delivered_pkts", s->delivered_pkts);
	json_add_u64(j, "delivered_ce_pkts", s->delivered_ce);
	json_add_u64(j, "rwnd_limited_us", s->rwnd_limited_us);
	json_add_u64(j, "zero_window_acks", s->zero_wnd_acks);
	return j;
}

/*
 * The ladder step shown: the controller's latest decision when there is
 * an override (the entry takes it at its next packet), else the entry's.
 */
static __u8 view_ladder(const struct dest_view *v)
{
	if (v->has_override)
		return v->ovr.ladder;
	return v->has_entry ? v->entry.ladder : 0;
}

/* Classes are shown when configured, and when an entry still counts
 * bytes of classes since removed from the config. */
static bool classes_shown(const struct dest_ctx *c, const struct dest_view *v)
{
	int i;

	if (c->classes)
		return true;
	for (i = 0; v->has_entry && i < SLUICE_CLASSES; i++)
		if (v->entry.class_passed_bytes[i] || v->entry.class_dropped_bytes[i])
			return true;
	return false;
}

/* What the ladder lets a class send. Without classes the datapath has one
 * bucket for all traffic and ignores the ladder: every class is full. */
static int class_allowed(const struct dest_ctx *c, const struct dest_view *v, __u8 cls)
{
	return c->classes ? sluice_class_allow(view_ladder(v), cls) : SLUICE_ALLOW_FULL;
}

/*
 * The part of the rate each class paces at, in percent, when sluiced split
 * it by use (the latest decision, else what the entry took); NULL when it
 * did not, and the datapath splits by the shares alone.
 */
static const __u8 *view_paced_pct(const struct dest_view *v)
{
	const __u8 *pct = v->has_override ? v->ovr.class_pct :
			  v->has_entry ? v->entry.class_pct : NULL;

	return pct && (pct[0] | pct[1] | pct[2] | pct[3]) ? pct : NULL;
}

/* Counters are 0 without an entry: dest_view_read() zeroes the view. */
static cJSON *classes_json(const struct dest_ctx *c, const struct dest_view *v)
{
	const __u8 *paced = view_paced_pct(v);
	cJSON *arr = cJSON_CreateArray();
	__u8 i;

	for (i = 0; i < SLUICE_CLASSES; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "class", class_name(i));
		json_add_u64(o, "passed_bytes", v->entry.class_passed_bytes[i]);
		json_add_u64(o, "dropped_bytes", v->entry.class_dropped_bytes[i]);
		cJSON_AddStringToObject(o, "allowed", allow_name(class_allowed(c, v, i)));
		if (paced)
			json_add_u64(o, "paced_pct", paced[i]);
		else
			cJSON_AddNullToObject(o, "paced_pct");
		if (v->has_signals) {
			json_add_u64(o, "conns_busy", class_busy(c, &v->sig, i));
			json_add_u64(o, "conns_bulk", class_bulk(c, &v->sig, i));
		} else {
			cJSON_AddNullToObject(o, "conns_busy");
			cJSON_AddNullToObject(o, "conns_bulk");
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *dest_view_json(const struct dest_ctx *c, const struct dest_view *v)
{
	char addr[SLUICE_ADDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "addr", format_addr(addr, sizeof(addr), &v->addr));
	cJSON_AddItemToObject(o, "entry", v->has_entry ? entry_json(c, &v->entry)
						       : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "override", v->has_override ? override_json(&v->ovr)
							     : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "signals", v->has_signals ? signals_json(c, &v->sig)
							   : cJSON_CreateNull());
	json_add_u64(o, "ladder_step", view_ladder(v));
	cJSON_AddItemToObject(o, "classes", classes_shown(c, v) ? classes_json(c, v)
								 : cJSON_CreateNull());
	return o;
}

static void show_policy(const struct dest_ctx *c, const struct sluice_dest *d)
{
	const struct policy_entry *pe = entry_policy(c, d);
	char prefix[SLUICE_ADDR_STRLEN];

	if (pe)
		printf("\tpolicy    %s (id %u)\n",
		       format_prefix(prefix, sizeof(prefix), &pe->key), d->policy_id);
	else if (d->flags & SLUICE_DEST_F_MATCHED)
		printf("\tpolicy    id %u, since removed\n", d->policy_id);
	else
		printf("\tpolicy    none (passes unregulated)\n");
	if (d->flags & SLUICE_DEST_F_MATCHED)
		printf("\tmode      %s%s\n", mode_name(d->mode),
		       d->flags & SLUICE_DEST_F_OVERRIDE ? ", values from override" : "");
	if (d->ctl_gen != c->ctl_gen)
		printf("\tcontrol   stale, refreshed at the next packet\n");
}

/* "4" segments, or "none" for 0, which sets no clamp. */
static char *fmt_clamp(char *buf, size_t len, __u32 segs)
{
	if (segs)
		snprintf(buf, len, "%u", segs);
	else
		snprintf(buf, len, "none");
	return buf;
}

static void show_entry(const struct dest_ctx *c, const struct sluice_dest *d)
{
	char rate[32], burst[32], ecn[32], clamp[16], tokens[32], idle[32];

	show_policy(c, d);
	printf("\trate      %s  burst %s  ecn %s  cwnd clamp %s\n",
	       format_rate(rate, sizeof(rate), d->rate_Bps),
	       format_size(burst, sizeof(burst), d->burst_bytes),
	       format_size(ecn, sizeof(ecn), d->mark_thresh),
	       fmt_clamp(clamp, sizeof(clamp), d->cwnd_clamp));
	printf("\ttokens    %s\n", format_size(tokens, sizeof(tokens), entry_tokens(c, d)));
	printf("\tpassed    %llu bytes  %llu pkts\n",
	       (unsigned long long)d->passed_bytes, (unsigned long long)d->passed_pkts);
	printf("\tmarked    %llu bytes  %llu pkts\n",
	       (unsigned long long)d->marked_bytes, (unsigned long long)d->marked_pkts);
	printf("\tdropped   %llu bytes  %llu pkts\n",
	       (unsigned long long)d->dropped_bytes, (unsigned long long)d->dropped_pkts);
	print_kinds("  by kind", d->kind_dropped_pkts);
	print_kinds("spared", d->kind_spared_pkts);
	printf("\tidle      %s\n", fmt_nsec(idle, sizeof(idle), entry_idle_ns(c, d)));
}

static void show_override(const struct sluice_dest_ctl *o)
{
	char rate[32], burst[32], ecn[32], clamp[16];

	printf("\toverride  rate %s  burst %s  ecn %s  cwnd clamp %s\n",
	       format_rate(rate, sizeof(rate), o->rate_Bps),
	       format_size(burst, sizeof(burst), o->burst_bytes),
	       format_size(ecn, sizeof(ecn), o->mark_thresh),
	       fmt_clamp(clamp, sizeof(clamp), o->cwnd_clamp));
}

/* "open, one probe connect per 1.00s": what a new connect meets. */
static char *fmt_breaker(char *buf, size_t len, __u8 state, __u64 gap_ns)
{
	char gap[32];

	if (state == SLUICE_BREAKER_CLOSED)
		snprintf(buf, len, "%s", breaker_name(state));
	else if (!gap_ns)
		snprintf(buf, len, "%s, no probe connects", breaker_name(state));
	else
		snprintf(buf, len, "%s, one probe connect per %s", breaker_name(state),
			 fmt_nsec(gap, sizeof(gap), gap_ns));
	return buf;
}

/*
 * Why the control values are what they are. Without an override they are
 * the policy's own; with one, its reason and the state the controller
 * left, which the entry takes at its next packet or connect.
 */
static void show_why(const struct dest_ctx *c, const struct dest_view *v)
{
	const struct sluice_dest_ctl *o = v->has_override ? &v->ovr : NULL;
	const struct sluice_dest *d = &v->entry;
	__u8 state = o ? o->breaker : d->breaker, ladder = view_ladder(v);
	__u64 gap = o ? o->probe_gap_ns : d->probe_gap_ns;
	char pressure[16], breaker[64], meaning[160];

	printf("\treason    %s\n", reason_text(o ? o->reason : SLUICE_REASON_POLICY));
	printf("\tpressure  %s\n",
	       o ? fmt_pressure(pressure, sizeof(pressure), o->pressure_milli) : "-");
	printf("\tbreaker   %s\n", fmt_breaker(breaker, sizeof(breaker), state, gap));
	if (v->has_entry)
		printf("\trefused   %llu connects\n",
		       (unsigned long long)d->connects_refused);
	if (!ladder)
		printf("\tladder    none\n");
	else if (!c->classes)
		printf("\tladder    step %u: no effect without classes\n", ladder);
	else
		printf("\tladder    step %u: %s\n", ladder,
		       fmt_ladder(meaning, sizeof(meaning), ladder));
}

/* Each class's bytes, what the ladder step lets it send, the part of the
 * rate it paces at when sluiced split it by use, and its connections busy
 * lately, of them bulk: its part is split among those. */
static void show_classes(const struct dest_ctx *c, const struct dest_view *v)
{
	const struct sluice_dest *d = &v->entry;
	const __u8 *paced = view_paced_pct(v);
	__u8 i;

	for (i = 0; i < SLUICE_CLASSES; i++) {
		printf("\tclass     %-9s  passed %llu bytes  dropped %llu bytes  allowed %s",
		       class_name(i), (unsigned long long)d->class_passed_bytes[i],
		       (unsigned long long)d->class_dropped_bytes[i],
		       allow_name(class_allowed(c, v, i)));
		if (paced)
			printf("  paced %u%%", paced[i]);
		if (v->has_signals)
			printf("  busy %u  bulk %u", class_busy(c, &v->sig, i),
			       class_bulk(c, &v->sig, i));
		printf("\n");
	}
}

static void show_rtt(const struct sluice_signals *s)
{
	char mean[32], median[32], last[32];
	unsigned long long us;

	if (!s->rtt_samples) {
		printf("\trtt       no samples\n");
		return;
	}
	rtt_mean_us(s, &us);
	fmt_usec(mean, sizeof(mean), us);
	if (rtt_median_us(s, &us))
		snprintf(median, sizeof(median), "-");
	else
		fmt_usec(median, sizeof(median), us);
	printf("\trtt       mean %s  median %s  last %s  samples %llu\n", mean, median,
	       fmt_usec(last, sizeof(last), s->rtt_last_us),
	       (unsigned long long)s->rtt_samples);
}

/* What the receivers say: CE echoed, and windows that held senders back. */
static void show_receiver(const struct sluice_signals *s)
{
	char rwnd[32];

	printf("\tecn       CE on %llu of %llu delivered pkts",
	       (unsigned long long)s->delivered_ce, (unsigned long long)s->delivered_pkts);
	if (s->delivered_pkts)
		printf(" (%.1f%%)", 100.0 * s->delivered_ce / s->delivered_pkts);
	printf("\n\trwnd      limited %s  zero-window acks %llu\n",
	       fmt_usec(rwnd, sizeof(rwnd), s->rwnd_limited_us),
	       (unsigned long long)s->zero_wnd_acks);
}

static void show_signals(const struct dest_ctx *c, const struct sluice_signals *s)
{
	printf("\tconns     active %u  busy %u  bulk %u  opened %llu  closed %llu\n",
	       s->conns_active, signals_busy(c, s), signals_bulk(c, s),
	       (unsigned long long)s->conns_opened, (unsigned long long)s->conns_closed);
	printf("\tconnects  %llu  failed %llu\n", (unsigned long long)s->connects,
	       (unsigned long long)s->connect_fails);
	show_rtt(s);
	printf("\tretrans   %llu segs  rtos %llu\n", (unsigned long long)s->retrans,
	       (unsigned long long)s->rtos);
	show_receiver(s);
	printf("\tacked     %llu bytes\n", (unsigned long long)s->bytes_acked);
}

void dest_view_text(const struct dest_ctx *c, const struct dest_view *v)
{
	char addr[SLUICE_ADDR_STRLEN];

	printf("%s\n", format_addr(addr, sizeof(addr), &v->addr));
	if (v->has_entry)
		show_entry(c, &v->entry);
	else
		printf("\tentry     none\n");
	if (v->has_override)
		show_override(&v->ovr);
	else
		printf("\toverride  none\n");
	if (v->has_override || (v->entry.flags & SLUICE_DEST_F_MATCHED))
		show_why(c, v);
	if (classes_shown(c, v))
		show_classes(c, v);
	if (v->has_signals)
		show_signals(c, &v->sig);
	else
		printf("\tsignals   none\n");
}

/* One line of "dest list": counters in packets, "show" has the bytes.
 * Pressure and breaker are the latest decision, as in show_why(). */
int dest_list_row(struct table *t, const struct dest_ctx *c, const struct dest_view *v)
{
	char addr[SLUICE_ADDR_STRLEN], prefix[SLUICE_ADDR_STRLEN], rate[32], tokens[32];
	char pressure[16], passed[24], marked[24], dropped[24];
	const struct sluice_dest *d = &v->entry;
	const struct policy_entry *pe = entry_policy(c, d);
	const struct sluice_dest_ctl *o = v->has_override ? &v->ovr : NULL;
	const char *row[DEST_LIST_COLS];

	snprintf(passed, sizeof(passed), "%llu", (unsigned long long)d->passed_pkts);
	snprintf(marked, sizeof(marked), "%llu", (unsigned long long)d->marked_pkts);
	snprintf(dropped, sizeof(dropped), "%llu", (unsigned long long)d->dropped_pkts);
	row[0] = format_addr(addr, sizeof(addr), &v->addr);
	row[1] = pe ? format_prefix(prefix, sizeof(prefix), &pe->key) : "-";
	row[2] = pe ? mode_name(d->mode) : "-";
	row[3] = format_rate(rate, sizeof(rate), d->rate_Bps);
	row[4] = o ? fmt_pressure(pressure, sizeof(pressure), o->pressure_milli) : "-";
	row[5] = breaker_name(o ? o->breaker : d->breaker);
	row[6] = format_size(tokens, sizeof(tokens), entry_tokens(c, d));
	row[7] = passed;
	row[8] = marked;
	row[9] = dropped;
	row[10] = o ? "yes" : "no";
	return table_add(t, row);
}
