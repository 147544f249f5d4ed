#pragma once
// The physical limit: a provable lower bound on the replica-seconds of any schedule that keeps
// lagSeconds <= objective at every second of a trace in the queue model (sim/model.h). It knows the
// future, so no autoscaler can beat it; reports show replica-seconds as a multiple of it.
//
// The relaxation, per second t (A(x): messages arrived before time x, linear within a second):
//   f_t   consuming replicas (fractional), 0 <= f_t <= max_consumers
//   C_k   messages consumed by time k: C_k - C_{k-1} <= service_rate * f_{k-1} (0 in a stall),
//         A(k - objective) - 0.5 <= C_k <= A(k)
//   cost  sum_t f_t + startup_delay * sum_{t >= D} max(0, f_t - f_{t-1}); before D no pod can have
//         joined, so f is non-increasing from min(initial_replicas, max_consumers).
//   f_t >= m = min(min_replicas, the cap of f_t): a schedule keeps at least minReplicas pods, so
//         its cost is at least sum max(f_t, m) + D x the rises of f; f' = max(f, m) has no more
//         capacity constraints violated (more capacity) and no larger rises (max(., m) is monotone
//         and 1-Lipschitz), so the program with f >= m still bounds every schedule from below.
// Why any schedule of the model costs at least that much (replica-seconds = sum of spec.replicas):
//   - Every consuming replica is a pod; a pod joining at t was created at t - D and cost the D
//     seconds before it joined: each rise of the consumers costs D pod-seconds per replica on
//     top of the seconds it consumes. Idle pods, pods beyond the partitions, pods deleted while
//     starting and rebalance pauses only add cost or remove capacity.
//   - lagSeconds at time k is k minus the arrival time of the oldest unconsumed message, so
//     lagSeconds <= objective implies C_k >= A(k - objective); lag below half a message reads 0
//     in the model, hence the 0.5. C_k <= A(k): nothing is consumed before it arrives.
//   - Fractional replicas relax whole ones; keeping fewer constraints relaxes further. Schedules
//     are taken to stay within maxReplicas (the seed rule, which has no maxReplicas, may not).
//   - Service noise is ignored: the bound is for the mean service rate (the noise is zero-mean
//     per replica and second, so over a run it averages out; a run that happened to draw fast
//     seconds could in principle come in a hair under the bound).
// Solving it: seconds are grouped into blocks of block_seconds (1 = exact; automatic: about 1,800
// blocks, at most a quarter of the objective, aligned with D and the stalls). Per block j the
// program keeps the mean consumers mu_j and the queue constraints at block boundaries only;
// sum_t f_t = sum_j B_j mu_j and the rises of the block means are at most the rises of f
// (averaging never adds rises), so the blocked program relaxes the per-second one and its optimum
// is a lower bound too (within 0.1 % of the per-second one on the bench's traces). GLPK's
// interior-point method solves it in ~0.05-0.1 s for 1-4 h, ~0.5 s for 24 h; when it fails
// numerically, the next longer blocking (a relaxation too), then the simplex. The bound is the
// optimum less a 1e-6 relative margin for the solver's tolerance.
// Feasibility is checked first, per second and exactly: with every consumer from D on (the initial
// ones before) the queue must meet the objective, or no schedule can; why_infeasible says where.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/model.h"
#include "sim/traces.h"

namespace lagpilot::sim {

struct OracleProblem {
  std::vector<double> arrivals;              // msg/s arriving during second t (Trace::rates)
  double service_rate = 400;                 // msg/s per consuming replica (the model's mean)
  std::int64_t startup_delay = 20;           // s from pod creation to consuming
  int max_consumers = 24;                    // min(partitions, maxReplicas)
  int max_replicas = 24;                     // pods that may exist
  double objective_seconds = 30;             // lagSeconds <= this at every second
  int initial_replicas = 1;                  // pods at t = 0, already consuming
  int min_replicas = 0;                      // the spec's minReplicas: pods never fewer
  std::vector<StallWindow> consumer_stalls;  // no consumption in these windows
  std::int64_t block_seconds = 0;            // 0: automatic; 1: per second (exact)
};

struct OracleBound {
  bool feasible = true;          // false: no schedule meets the objective (why_infeasible says why)
  std::string why_infeasible;    // e.g. "arrivals 12,000 msg/s at 30m exceed 24 consumers x ..."
  double replica_seconds = 0;    // the lower bound (when feasible)
  double consuming_seconds = 0;  // of which replicas consuming (>= the work, arrivals / rate)
  double startup_seconds = 0;    // of which pods starting (startup_delay x the rises)
  double work_seconds = 0;       // arrivals up to duration - objective, / service_rate
  std::int64_t block_seconds = 1;  // the blocks the program used
  std::string method;              // "interior point", "simplex", or "work only" (solver failed)
  // Per second, the optimum's consuming replicas (its block's mean): what the clairvoyant fluid
  // schedule runs; pods for a rise exist startup_delay earlier. Empty unless solved.
  std::vector<double> consumers;
};

// The problem for a run: the trace, the model's mean rate, start-up delay, partitions and stalls,
// the spec's maxReplicas (and minReplicas: 0 leaves the floor out), the run's objective and
// initial replicas.
OracleProblem oracle_problem_for(const Trace& trace, const ModelConfig& model, int max_replicas,
                                 double objective_seconds, int initial_replicas,
                                 int min_replicas = 0);

OracleBound oracle_lower_bound(const OracleProblem& problem);

}  // namespace lagpilot::sim
