// SPDX-License-Identifier: GPL-2.0
/* kubelb: instantiates the kubelb:* tracepoints. */

#define CREATE_TRACE_POINTS
#include "trace.h"
