#include "sim/reaction_bound.h"

#include <algorithm>

namespace lagpilot::sim {

double reaction_bound_violation_seconds(const std::vector<SecondRecord>& series,
                                        const ReactionBoundInputs& in) {
  const int max_consumers = std::max(in.max_consumers, 0);
  const double rate = in.service_rate;
  const double objective = in.objective_seconds;
  const std::int64_t poll = std::max<std::int64_t>(in.poll_interval, 1);
  const auto n = static_cast<std::int64_t>(series.size());
  std::vector<double> arrived(static_cast<std::size_t>(n) + 1, 0);  // by the start of second t
  for (std::int64_t t = 0; t < n; ++t) {
    arrived[static_cast<std::size_t>(t) + 1] =
        arrived[static_cast<std::size_t>(t)] + series[static_cast<std::size_t>(t)].arrivals;
  }
  const auto arrived_by = [&](double x) {
    if (x <= 0) return 0.0;
    const auto whole = static_cast<std::int64_t>(x);
    if (whole >= n) return arrived.back();
    const auto i = static_cast<std::size_t>(whole);
    return arrived[i] + (x - static_cast<double>(whole)) * (arrived[i + 1] - arrived[i]);
  };
  const auto run_capacity = [&](std::int64_t t) {
    return std::min(series[static_cast<std::size_t>(t)].replicas_current, max_consumers) * rate;
  };
  std::vector<bool> behind_at_poll(static_cast<std::size_t>(n / poll) + 1, false);
  double consumed = 0;
  double violation = 0;
  for (std::int64_t t = 0; t < n; ++t) {
    if (t % poll == 0 && t > 0) {
      const double backlog = arrived[static_cast<std::size_t>(t)] - consumed;
      const double arrivals =
          (arrived[static_cast<std::size_t>(t)] -
           arrived[static_cast<std::size_t>(std::max<std::int64_t>(t - poll, 0))]) /
          static_cast<double>(std::min(t, poll));
      behind_at_poll[static_cast<std::size_t>(t / poll)] =
          backlog > 0.5 || arrivals > run_capacity(t - 1);
    }
    const std::int64_t seen = t - in.startup_delay;  // the latest poll that can act on t
    const bool react = seen > 0 && behind_at_poll[static_cast<std::size_t>(seen / poll)];
    const double capacity = react ? max_consumers * rate : run_capacity(t);
    consumed = std::min(consumed + capacity, arrived[static_cast<std::size_t>(t) + 1]);
    if (consumed < arrived_by(static_cast<double>(t + 1) - objective) - 0.5) violation += 1;
  }
  return violation;
}

}  // namespace lagpilot::sim
