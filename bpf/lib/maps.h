/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice's maps. Every map is BTF-typed so that `bpftool map dump` prints
 * field names. Sizes of the tables are set by the loader before load
 * (bpf_map__set_max_entries); the values here are the defaults.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include "sluice/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
} sluice_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SLUICE_POLICY_MAX_DEFAULT);
	__type(key, struct sluice_lpm_key);
	__type(value, struct sluice_policy);
} sluice_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_DEST_MAX_DEFAULT);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_dest_ctl);
} sluice_dest_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_DEST_MAX_DEFAULT);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_dest);
} sluice_dest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_DEST_MAX_DEFAULT);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_signals);
} sluice_signals SEC(".maps");

/* The addresses whose signals moved, for sluiced to read (signals.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_CHANGED_BYTES);
} sluice_changed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sluice_class_key);
	__type(value, __u32);
} sluice_classify SEC(".maps");

/* Written by sluiced only; here so that it is created, pinned and typed
 * with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_EVENTS_MAX);
	__type(key, __u32);
	__type(value, struct sluice_event);
} sluice_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sluice_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sluice_sk);
} sluice_sk SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sluice_stats, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

#endif
