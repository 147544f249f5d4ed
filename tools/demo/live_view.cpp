#include "tools/demo/live_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "util/clock.h"

namespace lagpilot::demo {
namespace {

constexpr std::size_t kSparkWidth = 60;  // seconds of history in the sparklines

std::string printf_string(const char* format, auto... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, format, args...);
  return buffer;
}

// Display columns of UTF-8 text with ANSI CSI sequences (which take none); every code point counts
// one column (the view uses no wide glyphs). Cuts to `limit` columns, ending in "…".
std::string fit_columns(const std::string& text, std::size_t limit) {
  std::size_t n = 0;
  bool cut = false;
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t end = i + 2;
      while (end < text.size() && !(text[end] >= '@' && text[end] <= '~')) ++end;
      out += text.substr(i, end + 1 - i);
      i = end;
      continue;
    }
    if ((c & 0xC0) != 0x80) {
      if (cut) continue;
      if (n + 1 >= limit && i + 1 < text.size()) {
        cut = true;
        out += "…";
        continue;
      }
      ++n;
    } else if (cut) {
      continue;
    }
    out += text[i];
  }
  return out;
}

std::string sparkline(const std::deque<double>& values) {
  static constexpr const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double top = 0;
  for (double v : values) top = std::max(top, v);
  std::string out;
  for (double v : values) {
    int level = top <= 0 ? 0 : static_cast<int>(std::lround(v / top * 7));
    out += kBars[std::clamp(level, 0, 7)];
  }
  return out;
}

std::string clock_text(double seconds) {
  const auto whole = static_cast<long>(std::max(0.0, seconds));
  return printf_string("%ld:%02ld", whole / 60, whole % 60);
}

std::string lag_text(const Sample& s) {
  return s.lag ? thousands(*s.lag) + " msgs" : std::string("? msgs");
}

std::string lag_seconds_text(const Sample& s) {
  return s.lag_seconds ? printf_string("%.1f s", *s.lag_seconds) : std::string("? s");
}

std::string alerts_text(const Sample& s) {
  if (s.firing.empty()) return "none";
  std::string out;
  for (const auto& name : s.firing) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string event_text(const ScalingEvent& e) {
  return printf_string("%+.0fs %d → %d (%s)", e.t, e.from, e.to, e.policy.c_str()) +
         (e.reason.empty() ? "" : ": " + e.reason);
}

}  // namespace

std::string thousands(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string format_duration(double seconds) {
  const auto whole = static_cast<long>(std::lround(std::max(0.0, seconds)));
  if (whole < 60) return std::to_string(whole) + "s";
  if (whole < 3600) return std::to_string(whole / 60) + "m" + std::to_string(whole % 60) + "s";
  return std::to_string(whole / 3600) + "h" + std::to_string(whole % 3600 / 60) + "m" +
         std::to_string(whole % 60) + "s";
}

std::vector<ScalingEvent> scaling_events_from_status(const nlohmann::json& status,
                                                     double start_unix) {
  std::vector<ScalingEvent> events;
  if (!status.is_object() || !status.contains("scalingHistory")) return events;
  const auto& history = status["scalingHistory"];
  if (!history.is_array()) return events;
  for (const auto& entry : history) {
    if (!entry.is_object()) continue;
    ScalingEvent event;
    auto when = parse_rfc3339(entry.value("time", ""));
    if (when) {
      event.t = std::chrono::duration<double>(when->time_since_epoch()).count() - start_unix;
    }
    event.from = entry.value("from", 0);
    event.to = entry.value("to", 0);
    event.policy = entry.value("policy", "");
    event.reason = entry.value("reason", "");
    event.dry_run = entry.value("dryRun", false);
    events.push_back(std::move(event));
  }
  std::reverse(events.begin(), events.end());  // the status lists the newest first
  return events;
}

RunSummary summarize(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& events,
                     double objective_seconds) {
  RunSummaryBuilder summary(objective_seconds);
  double previous_t = 0;
  for (const auto& s : samples) {
    std::optional<double> lag;
    if (s.lag) lag = static_cast<double>(*s.lag);
    summary.add_interval(s.t - previous_t, s.current, lag, s.lag_seconds);
    previous_t = s.t;
  }
  for (const auto& e : events) {
    if (!e.dry_run) summary.add_scaling(e.from, e.to);
  }
  return summary.summary();
}

std::string format_summary(const RunSummary& summary, const std::vector<ScalingEvent>& events,
                           const RunInfo& info) {
  std::string out;
  out += printf_string("\n── lagpilot demo summary (%s%s, seed %llu) ──\n",
                       format_duration(summary.duration).c_str(),
                       info.interrupted ? ", interrupted" : "",
                       static_cast<unsigned long long>(info.seed));
  out += "load: " + info.pattern + "\n";
  out += printf_string("consumers: %.0f msg/s per ready replica\n", info.per_replica_rate);
  out += "\nscaling history (status.scalingHistory, oldest first):\n";
  if (events.empty()) out += "  (none)\n";
  for (const auto& e : events) {
    out += printf_string("  %+6.0fs  %2d → %-2d  %-13s ", e.t, e.from, e.to,
                         (e.policy + (e.dry_run ? " (dry run)" : "")).c_str()) +
           e.reason + "\n";
  }
  out +=
      printf_string("\nscale-ups: %d, scale-downs: %d\n", summary.scale_ups, summary.scale_downs);
  out += printf_string(
      "seconds behind the objective (lagSeconds > targetDrainSeconds %.0f s): %.0f s of %.0f s\n",
      info.objective_seconds, summary.violation_seconds, summary.duration);
  out += printf_string("replica-seconds: %.0f (mean %.1f replicas, peak %d)\n",
                       summary.replica_seconds, summary.mean_replicas, summary.peak_replicas);
  out += printf_string("max lag: %s msgs (max lagSeconds %.1f s)\n",
                       thousands(std::llround(summary.max_lag)).c_str(), summary.max_lag_seconds);
  out += printf_string("messages: produced %s, processed %s\n", thousands(info.produced).c_str(),
                       thousands(info.processed).c_str());
  if (!info.plot_path.empty()) out += "plot: " + info.plot_path + "\n";
  if (!info.record_path.empty()) {
    out += "recording: " + info.record_path + " (replay: lagpilot simulate --replay " +
           info.record_path + ")\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

LiveView::LiveView(std::FILE* out, bool ansi, double duration, double objective_seconds)
    : out_(out), ansi_(ansi), duration_(duration), objective_(objective_seconds) {}

int LiveView::width() const {
  winsize size{};
  if (ansi_ && ::ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 20)
    return size.ws_col;
  return 100;
}

void LiveView::update(const Sample& sample, const std::optional<ScalingEvent>& last_scaling) {
  lag_history_.push_back(sample.lag ? static_cast<double>(*sample.lag) : 0.0);
  replica_history_.push_back(sample.current);
  while (lag_history_.size() > kSparkWidth) lag_history_.pop_front();
  while (replica_history_.size() > kSparkWidth) replica_history_.pop_front();
  if (ansi_) {
    draw(sample, last_scaling);
  } else {
    print_line(sample, last_scaling);
  }
  std::fflush(out_);
}

void LiveView::draw(const Sample& s, const std::optional<ScalingEvent>& last_scaling) {
  const bool behind = s.lag_seconds && *s.lag_seconds > objective_;
  std::vector<std::string> lines;
  lines.push_back("\x1b[1mlagpilot demo\x1b[0m  " + clock_text(s.t) + " / " +
                  clock_text(duration_) + "    Ctrl-C ends early (summary and clean-up still run)");
  lines.push_back(
      printf_string("  arrivals   %6.0f msg/s     processed %6.0f msg/s", s.arrivals, s.processed));
  lines.push_back(printf_string("  lag        %-16s lagSeconds %-8s objective ≤ %.0f s  %s",
                                lag_text(s).c_str(), lag_seconds_text(s).c_str(), objective_,
                                behind ? "\x1b[31mBEHIND\x1b[0m" : "\x1b[32mok\x1b[0m"));
  lines.push_back(printf_string("  replicas   current %d   desired %d   ready %d   consumers %d",
                                s.current, s.desired, s.ready, s.consumers));
  lines.push_back("  health     " + (s.health.empty() ? std::string("?") : s.health) +
                  "     firing alerts: " + alerts_text(s));
  lines.push_back("  last scale " +
                  (last_scaling ? event_text(*last_scaling) : std::string("(none yet)")));
  lines.push_back("  lag        " + sparkline(lag_history_));
  lines.push_back("  replicas   " + sparkline(replica_history_));

  const auto limit = static_cast<std::size_t>(width() - 1);
  std::string frame;
  if (drawn_lines_ > 0) frame += "\x1b[" + std::to_string(drawn_lines_) + "F";
  for (const auto& line : lines) {
    frame += "\x1b[2K" + fit_columns(line, limit) + "\x1b[0m\n";
  }
  std::fputs(frame.c_str(), out_);
  drawn_lines_ = static_cast<int>(lines.size());
}

void LiveView::print_line(const Sample& s, const std::optional<ScalingEvent>& last_scaling) {
  std::string line = printf_string(
      "[%4.0fs] arrivals %4.0f/s processed %4.0f/s lag %s (%s) replicas %d desired %d ready %d "
      "health %s alerts %s",
      s.t, s.arrivals, s.processed, lag_text(s).c_str(), lag_seconds_text(s).c_str(), s.current,
      s.desired, s.ready, s.health.empty() ? "?" : s.health.c_str(), alerts_text(s).c_str());
  std::fputs((line + "\n").c_str(), out_);
  if (last_scaling) {
    std::string event = event_text(*last_scaling);
    if (event != last_printed_event_) {
      last_printed_event_ = event;
      std::fputs(("        scaled " + event + "\n").c_str(), out_);
    }
  }
}

void LiveView::finish() {
  drawn_lines_ = 0;
  std::fflush(out_);
}

}  // namespace lagpilot::demo
