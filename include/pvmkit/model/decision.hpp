// Decision records: every decision a policy takes can be explained as one JSON line (inputs, each
// candidate's score, the choice, the reason).
#pragma once

#include <pvmkit/core/json_writer.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pvmkit {

struct candidate_score {
  std::string name;
  double score = 0;
  std::string note;
};

struct decision_record {
  std::string policy;
  std::string subject;  // what was decided about: "task 12 (vif3.0-q0-guest-rx)", "node 1 vCPUs"
  std::vector<std::pair<std::string, std::string>> inputs;
  std::vector<candidate_score> candidates;
  std::string choice;
  std::string reason;
};

[[nodiscard]] inline std::string to_json_line(const decision_record& r) {
  json_writer w;
  w.begin_object().field("policy", r.policy).field("subject", r.subject);
  w.key("inputs").begin_object();
  for (const auto& [k, v] : r.inputs) w.field(k, v);
  w.end_object();
  w.key("candidates").begin_array();
  for (const auto& c : r.candidates) {
    w.begin_object().field("name", c.name).field("score", c.score);
    if (!c.note.empty()) w.field("note", c.note);
    w.end_object();
  }
  w.end_array();
  w.field("choice", r.choice).field("reason", r.reason).end_object();
  return w.take();
}

// Where policies put their records. Disabled by default so that hot paths (benchmarks, the
// simulator's inner loop) pay one branch, not string building: policies check enabled() first.
class decision_log {
 public:
  decision_log() = default;
  explicit decision_log(bool enabled) : enabled_(enabled) {}

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  void add(decision_record r) {
    if (!enabled_) return;
    if (sink_) sink_(r);
    records_.push_back(std::move(r));
  }
  // Called for every record as it is added (e.g. to stream JSON lines to a file).
  void on_record(std::function<void(const decision_record&)> sink) { sink_ = std::move(sink); enabled_ = true; }
  [[nodiscard]] const std::vector<decision_record>& records() const noexcept { return records_; }
  void clear() noexcept { records_.clear(); }

 private:
  bool enabled_ = false;
  std::vector<decision_record> records_;
  std::function<void(const decision_record&)> sink_;
};

}  // namespace pvmkit
