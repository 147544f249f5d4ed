#pragma once
// When a monitor polls next. Each monitor keeps a fixed phase within its poll interval, taken
// from a hash of its key (as Prometheus spreads scrape targets over the scrape interval). A
// thousand monitors created or restarted together then poll evenly across the interval instead
// of in the bursts their first reconciles left behind, and every operator process computes the
// same phase, so a new leader keeps the old one's schedule.
#include <string_view>

#include "util/clock.h"

namespace lagpilot::controllers {

// The monitor's offset within each interval, in [0, interval), whole milliseconds.
Duration poll_phase(std::string_view key, Duration interval);

// The shortest gap between two scheduled polls: a tenth of the interval, at most one second.
Duration min_poll_gap(Duration interval);

// The delay from `now` to the first of the monitor's slots (epoch + k * interval + phase) that
// is at least min_poll_gap(interval) away. A poll that ran on its slot is due again exactly one
// interval after that slot, however long it took; an off-slot reconcile (a spec or target
// change) returns to the slots. Always in [min_poll_gap, interval + min_poll_gap).
Duration next_poll_delay(std::string_view key, Duration interval, WallTime now);

}  // namespace lagpilot::controllers
