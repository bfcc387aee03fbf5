/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names for the enums operators see: reasons, breaker states, controllers. */
#ifndef SLUICE_REASON_H
#define SLUICE_REASON_H

#include "sluice/abi.h"

/* Short snake_case name for JSON and logs: "delay", "connect_fail". */
const char *reason_name(__u32 reason);
/* A phrase for people: "cut: queueing delay above target". */
const char *reason_text(__u32 reason);
const char *breaker_name(__u8 state);
const char *controller_name(__u8 ctrl);
int parse_controller(const char *s, __u8 *ctrl);
const char *fail_mode_name(__u8 mode);
int parse_fail_mode(const char *s, __u8 *mode);
const char *event_kind_name(__u32 kind);
/* Priority classes by name: "critical", "default", ... */
const char *class_name(unsigned int cls);
int class_by_name(const char *name);

#endif
