#pragma once
// What the controller's informer keeps of a QueueMonitor, and how it reads it back.
//
// A cached QueueMonitor is the object without the server's bookkeeping (managedFields, kubectl's
// last-applied-configuration) and with its status held as compact JSON text instead of a parsed
// tree: the controller reads the status once a reconcile (as StatusBuilder's old status) and never
// looks into it otherwise, and a parsed status costs several times its text (a node, a key string
// and a value per field). Metadata and spec stay parsed: the event handlers and target ownership
// read them for every change.
//
// Read the status of a cached monitor only through cached_status().
#include "kube/client.h"

namespace lagpilot::controllers {

// The informer's transform for QueueMonitors.
void compact_cached_monitor(kube::Json& monitor);

// The status of a monitor as the informer cached it (an empty object when it has none). Also
// accepts an object that was not compacted (its parsed status is returned as is).
kube::Json cached_status(const kube::Json& monitor);

}  // namespace lagpilot::controllers
