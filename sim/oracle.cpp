#include "sim/oracle.h"

#include <glpk.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "sim/report.h"
#include "sim/units.h"

namespace lagpilot::sim {
namespace {

// Automatic blocks: about this many (one solve takes some 0.05 s on this machine), but no longer
// than a quarter of the objective, which keeps them within 0.1 % of the per-second bound.
constexpr std::int64_t kTargetBlocks = 1800;
// When the interior-point method fails numerically on one blocking (rare), the next longer ones
// are tried (each is a relaxation too) before the simplex.
constexpr int kBlockingTries = 3;
// Less than this much lag reads as none in the model (sim/model.cpp, kNoLag).
constexpr double kNoLagMessages = 0.5;
// The solver's relative tolerance, taken off the optimum so the bound stays below it.
constexpr double kSolverMargin = 1e-6;

// Messages arrived before time x (x in seconds, linear within a second).
class Arrivals {
 public:
  explicit Arrivals(const std::vector<double>& rates) : rates_(rates), before_(rates.size() + 1) {
    for (std::size_t t = 0; t < rates.size(); ++t) before_[t + 1] = before_[t] + rate_at(t);
  }
  double before(double x) const {
    if (x <= 0) return 0;
    const auto second = static_cast<std::size_t>(std::floor(x));
    if (second >= rates_.size()) return before_.back();
    return before_[second] + (x - static_cast<double>(second)) * rate_at(second);
  }
  // The least C_k a schedule meeting the objective can have consumed by time k.
  double must_have_consumed(std::int64_t k, double objective) const {
    return std::max(0.0, before(static_cast<double>(k) - objective) - kNoLagMessages);
  }

 private:
  // As the model reads a trace: nothing arrives at a negative (or non-finite) rate.
  double rate_at(std::size_t second) const {
    const double rate = rates_[second];
    return std::isfinite(rate) ? std::max(rate, 0.0) : 0.0;
  }

  const std::vector<double>& rates_;
  std::vector<double> before_;
};

bool stalled_at(const std::vector<StallWindow>& stalls, std::int64_t t) {
  return std::any_of(stalls.begin(), stalls.end(),
                     [t](const StallWindow& w) { return t >= w.start && t < w.start + w.length; });
}

int initial_consumers(const OracleProblem& p) {
  return std::max(0, std::min(p.initial_replicas, p.max_consumers));
}

int consumer_cap(const OracleProblem& p) {
  return std::max(0, std::min(p.max_consumers, p.max_replicas));
}

// Every consumer as early as possible, per second: when even that misses the objective, nothing
// meets it. Returns the reason, or "" when feasible.
std::string check_feasible(const OracleProblem& p, const Arrivals& arrivals) {
  const std::int64_t duration = static_cast<std::int64_t>(p.arrivals.size());
  double consumed = 0;
  std::int64_t last_empty = 0;
  for (std::int64_t t = 0; t < duration; ++t) {
    const int consumers = t < p.startup_delay ? initial_consumers(p) : consumer_cap(p);
    const double capacity = stalled_at(p.consumer_stalls, t) ? 0 : p.service_rate * consumers;
    const double arrived = arrivals.before(static_cast<double>(t + 1));
    consumed = std::min(consumed + capacity, arrived);
    if (arrived - consumed < kNoLagMessages) last_empty = t + 1;
    const double needed = arrivals.must_have_consumed(t + 1, p.objective_seconds);
    if (consumed >= needed - 1e-9 * std::max(1.0, needed)) continue;

    std::int64_t peak_at = last_empty;
    for (std::int64_t s = last_empty; s <= t; ++s) {
      if (p.arrivals[static_cast<std::size_t>(s)] > p.arrivals[static_cast<std::size_t>(peak_at)])
        peak_at = s;
    }
    std::string why = "arrivals reach " + thousands(p.arrivals[static_cast<std::size_t>(peak_at)]) +
                      " msg/s at " + format_duration(peak_at) + ", more than ";
    if (t < p.startup_delay + static_cast<std::int64_t>(std::ceil(p.objective_seconds)) &&
        initial_consumers(p) < consumer_cap(p)) {
      why += "the " + std::to_string(initial_consumers(p)) + " initial replica(s) x " +
             thousands(p.service_rate) + " msg/s can serve before new pods join (start-up " +
             format_duration(p.startup_delay) + ")";
    } else {
      why += std::to_string(consumer_cap(p)) + " consumers x " + thousands(p.service_rate) +
             " msg/s = " + thousands(consumer_cap(p) * p.service_rate) + " msg/s";
    }
    why += ", for longer than the " + thousands(p.objective_seconds) +
           " s objective allows: lagSeconds passes it at " + format_duration(t + 1) +
           " even with every consumer working";
    if (!p.consumer_stalls.empty()) why += " (consumer stalls included)";
    return why;
  }
  return "";
}

struct Block {
  std::int64_t start = 0;
  std::int64_t length = 0;
  bool stalled = false;  // the whole block
};

// Boundaries every `size` seconds, plus at the start-up delay and at stall edges, so that every
// block is on one side of them.
std::vector<Block> make_blocks(const OracleProblem& p, std::int64_t size) {
  const std::int64_t duration = static_cast<std::int64_t>(p.arrivals.size());
  std::vector<std::int64_t> edges;
  for (std::int64_t t = 0; t < duration; t += size) edges.push_back(t);
  edges.push_back(duration);
  auto add_edge = [&](std::int64_t t) {
    if (t > 0 && t < duration) edges.push_back(t);
  };
  add_edge(p.startup_delay);
  for (const StallWindow& w : p.consumer_stalls) {
    add_edge(w.start);
    add_edge(w.start + w.length);
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<Block> blocks;
  for (std::size_t i = 0; i + 1 < edges.size(); ++i) {
    blocks.push_back(Block{.start = edges[i],
                           .length = edges[i + 1] - edges[i],
                           .stalled = stalled_at(p.consumer_stalls, edges[i])});
  }
  return blocks;
}

struct GlpkProblem {
  struct Free {
    void operator()(glp_prob* lp) const { glp_delete_prob(lp); }
  };
  std::unique_ptr<glp_prob, Free> lp{glp_create_prob()};
  std::vector<int> rows{0};
  std::vector<int> columns{0};
  std::vector<double> values{0};

  int add_column(double lower, double upper, double cost) {
    const int column = glp_add_cols(lp.get(), 1);
    glp_set_col_bnds(lp.get(), column, upper > lower ? GLP_DB : GLP_FX, lower,
                     std::max(lower, upper));
    glp_set_obj_coef(lp.get(), column, cost);
    return column;
  }
  int add_unbounded_column(double cost) {
    const int column = glp_add_cols(lp.get(), 1);
    glp_set_col_bnds(lp.get(), column, GLP_LO, 0, 0);
    glp_set_obj_coef(lp.get(), column, cost);
    return column;
  }
  // sum of coefficient x column <= upper
  void add_row(const std::vector<std::pair<int, double>>& terms, double upper) {
    const int row = glp_add_rows(lp.get(), 1);
    glp_set_row_bnds(lp.get(), row, GLP_UP, 0, upper);
    for (const auto& [column, coefficient] : terms) {
      rows.push_back(row);
      columns.push_back(column);
      values.push_back(coefficient);
    }
  }
};

struct Solution {
  bool solved = false;
  std::string method;
  double consuming = 0;
  double startup = 0;
  std::vector<double> consumers;  // per second
};

// The blocked program (see the header), in replica-seconds: q_j is the backlog at block j's start
// in seconds of one replica's work, mu_j the mean consumers, u_j their rise into block j.
// The interior-point method, fast; the simplex, slow, when it fails and `simplex_fallback`.
Solution solve_blocks(const OracleProblem& p, const Arrivals& arrivals,
                      const std::vector<Block>& blocks, bool simplex_fallback) {
  GlpkProblem program;
  glp_set_obj_dir(program.lp.get(), GLP_MIN);
  const double rate = p.service_rate;
  const double startup = static_cast<double>(p.startup_delay);
  std::vector<int> mean_consumers;
  std::vector<int> rise;
  int backlog = 0;  // column of q at the current block's start; 0: the empty queue at t = 0
  for (std::size_t j = 0; j < blocks.size(); ++j) {
    const Block& block = blocks[j];
    const bool before_startup = block.start < p.startup_delay;
    const double cap = before_startup ? initial_consumers(p) : consumer_cap(p);
    const double floor = std::clamp(static_cast<double>(p.min_replicas), 0.0, cap);
    const int mean = program.add_column(floor, cap, static_cast<double>(block.length));
    mean_consumers.push_back(mean);
    if (j > 0) {
      if (before_startup) {
        program.add_row({{mean, 1}, {mean_consumers[j - 1], -1}}, 0);
      } else {
        const int up = program.add_unbounded_column(startup);
        rise.push_back(up);
        program.add_row({{mean, 1}, {mean_consumers[j - 1], -1}, {up, -1}}, 0);
      }
    }
    const std::int64_t end = block.start + block.length;
    const double arrived_in_block = (arrivals.before(static_cast<double>(end)) -
                                     arrivals.before(static_cast<double>(block.start))) /
                                    rate;
    const double max_backlog = (arrivals.before(static_cast<double>(end)) -
                                arrivals.must_have_consumed(end, p.objective_seconds)) /
                               rate;
    const int next_backlog = program.add_column(0, std::max(0.0, max_backlog), 0);
    // Consumed in the block <= its capacity: q_j + arrived - q_{j+1} <= length x mu_j.
    std::vector<std::pair<int, double>> terms{{next_backlog, -1}};
    if (backlog != 0) terms.emplace_back(backlog, 1);
    if (!block.stalled) terms.emplace_back(mean, -static_cast<double>(block.length));
    program.add_row(terms, -arrived_in_block);
    backlog = next_backlog;
  }
  glp_load_matrix(program.lp.get(), static_cast<int>(program.rows.size()) - 1, program.rows.data(),
                  program.columns.data(), program.values.data());

  Solution solution;
  auto read = [&](auto value_of) {
    for (std::size_t j = 0; j < blocks.size(); ++j) {
      const double mean = value_of(mean_consumers[j]);
      solution.consuming += static_cast<double>(blocks[j].length) * mean;
      solution.consumers.insert(solution.consumers.end(),
                                static_cast<std::size_t>(blocks[j].length), std::max(0.0, mean));
    }
    for (int up : rise) solution.startup += startup * value_of(up);
  };
  glp_iptcp interior;
  glp_init_iptcp(&interior);
  interior.msg_lev = GLP_MSG_OFF;
  if (glp_interior(program.lp.get(), &interior) == 0 &&
      glp_ipt_status(program.lp.get()) == GLP_OPT) {
    solution.solved = true;
    solution.method = "interior point";
    read([&](int column) { return glp_ipt_col_prim(program.lp.get(), column); });
    return solution;
  }
  if (!simplex_fallback) return solution;
  glp_smcp simplex;
  glp_init_smcp(&simplex);
  simplex.msg_lev = GLP_MSG_OFF;
  simplex.presolve = GLP_ON;
  if (glp_simplex(program.lp.get(), &simplex) == 0 && glp_get_status(program.lp.get()) == GLP_OPT) {
    solution.solved = true;
    solution.method = "simplex";
    read([&](int column) { return glp_get_col_prim(program.lp.get(), column); });
  }
  return solution;
}

}  // namespace

OracleProblem oracle_problem_for(const Trace& trace, const ModelConfig& model, int max_replicas,
                                 double objective_seconds, int initial_replicas, int min_replicas) {
  return OracleProblem{.arrivals = trace.rates,
                       .service_rate = model.service_rate,
                       .startup_delay = model.startup_delay,
                       .max_consumers = std::min(model.partitions, max_replicas),
                       .max_replicas = max_replicas,
                       .objective_seconds = objective_seconds,
                       .initial_replicas = initial_replicas,
                       .min_replicas = min_replicas,
                       .consumer_stalls = model.consumer_stalls};
}

OracleBound oracle_lower_bound(const OracleProblem& problem) {
  OracleBound bound;
  const std::int64_t duration = static_cast<std::int64_t>(problem.arrivals.size());
  if (duration == 0 || problem.service_rate <= 0) {
    bound.method = "empty";
    return bound;
  }
  const Arrivals arrivals(problem.arrivals);
  bound.work_seconds =
      arrivals.must_have_consumed(duration, problem.objective_seconds) / problem.service_rate;
  bound.why_infeasible = check_feasible(problem, arrivals);
  if (!bound.why_infeasible.empty()) {
    bound.feasible = false;
    return bound;
  }
  const bool automatic = problem.block_seconds <= 0;
  bound.block_seconds =
      automatic ? std::clamp<std::int64_t>(
                      (duration + kTargetBlocks - 1) / kTargetBlocks, 1,
                      std::max<std::int64_t>(
                          1, static_cast<std::int64_t>(std::floor(problem.objective_seconds / 4))))
                : problem.block_seconds;

  Solution solution;
  for (int attempt = 1; attempt <= (automatic ? kBlockingTries : 1); ++attempt) {
    const bool last = attempt == (automatic ? kBlockingTries : 1);
    glp_term_out(GLP_OFF);
    solution = solve_blocks(problem, arrivals, make_blocks(problem, bound.block_seconds), last);
    glp_free_env();  // GLPK keeps per-thread state otherwise
    if (solution.solved || last) break;
    ++bound.block_seconds;
  }
  if (!solution.solved) {
    bound.method = "work only";
    bound.consuming_seconds = bound.work_seconds;
    bound.replica_seconds = bound.work_seconds;
    return bound;
  }
  bound.method = solution.method;
  bound.consuming_seconds = solution.consuming;
  bound.startup_seconds = solution.startup;
  bound.consumers = std::move(solution.consumers);
  bound.replica_seconds = (solution.consuming + solution.startup) * (1 - kSolverMargin);
  return bound;
}

}  // namespace lagpilot::sim
