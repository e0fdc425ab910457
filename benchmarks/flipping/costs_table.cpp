// Prints the tables of docs/flipping.md ("Costs", "Crossover", "Sensitivity"): the page size
// above which a flip costs the pVM less than a copy, by delivery size and by packet rate; how that
// crossover and each guest's pick in the default scenario move when one cost is varied across its
// range; and how the baseline's modelled slowdown moves with memory_intensity. Every figure is
// MODELLED from the documented equations. usage: flip_costs_table [packets per guest]
#include <pvmkit/sim/flipping_model.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace pvmkit::sim;

namespace {

std::string bytes_text(double s) {
  if (!std::isfinite(s) || s > 4096) return "never";
  char b[32];
  std::snprintf(b, sizeof b, "%.0f B", s);
  return b;
}

std::string picks(const flip_scenario& s) {
  std::vector<flip_report> all;
  for (const auto& p : flipping_policy_names()) all.push_back(run_flipping(s, p));
  std::string out;
  for (std::size_t g = 0; g < s.guests.size(); ++g)
    out += (g ? ", " : "") + s.guests[g].name + ": " + recommend_flip_policy(all, g).policy;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t packets = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200'000;
  const flip_costs base;
  const flip_scenario def = default_flip_scenario();

  std::printf("Crossover (MODELLED): flipping a page beats copying it above this many bytes of data in the page\n\n");
  std::printf("| pages per delivery | 1 | 4 | 16 | 64 |\n|---|---|---|---|---|\n| crossover |");
  for (std::size_t b : {std::size_t{1}, std::size_t{4}, std::size_t{16}, std::size_t{64}}) std::printf(" %s |", bytes_text(flip_crossover_bytes(base, b)).c_str());
  std::printf("\n\nBy rate, single-page packets (pages per delivery = rate x %.0f us, 1..%zu):\n\n", def.delivery_interval_us,
              def.batch);
  std::printf("| packets/s | 5 000 | 20 000 | 100 000 | 400 000 | 1 000 000 |\n|---|---|---|---|---|---|\n| crossover |");
  for (double r : {5e3, 2e4, 1e5, 4e5, 1e6}) {
    flip_guest g;
    g.packets_per_second = r;
    g.sizes = {{4096, 1}};
    std::printf(" %s |", bytes_text(flip_crossover_bytes(base, delivery_pages(def, g))).c_str());
  }

  std::printf("\n\nSensitivity (MODELLED): one cost varied, the others at their defaults; crossover at 4 and 64 pages per "
              "delivery, and each guest's pick in the default scenario (%llu packets per guest)\n\n",
              static_cast<unsigned long long>(packets));
  std::printf("| cost | value | crossover, 4 pages | crossover, 64 pages | picks (default scenario) |\n|---|---|---|---|---|\n");
  struct variant {
    const char* name;
    double flip_costs::*field;
    std::vector<double> values;
  };
  const std::vector<variant> variants = {
      {"flip_page_ns", &flip_costs::flip_page_ns, {300, 700, 1500}},
      {"flip_batch_ns", &flip_costs::flip_batch_ns, {1000, 2000, 10000}},
      {"copy_op_ns", &flip_costs::copy_op_ns, {100, 300, 600}},
      {"copy_batch_ns", &flip_costs::copy_batch_ns, {200, 500, 2000}},
      {"copy_ns_per_byte", &flip_costs::copy_ns_per_byte, {0.1, 0.26, 0.4}},
  };
  for (const auto& v : variants)
    for (double x : v.values) {
      flip_scenario s = def;
      s.packets_per_guest = packets;
      s.costs.*v.field = x;
      std::printf("| `%s` | %g%s | %s | %s | %s |\n", v.name, x, base.*v.field == x ? " (default)" : "",
                  bytes_text(flip_crossover_bytes(s.costs, 4)).c_str(), bytes_text(flip_crossover_bytes(s.costs, 64)).c_str(),
                  picks(s).c_str());
    }

  std::printf("\nmemory_intensity (MODELLED): worst guest slowdown in the default scenario, every guest's intensity set to "
              "the value\n\n| memory_intensity | numa_local | informed | xen_default_flip | grant_copy |\n|---|---|---|---|---|\n");
  for (double k : {0.1, 0.2, 0.3, 0.5, 1.0}) {
    flip_scenario s = def;
    s.packets_per_guest = packets;
    for (auto& g : s.guests) g.memory_intensity = k;
    std::printf("| %g |", k);
    for (const auto& p : flipping_policy_names()) std::printf(" %.1f %% |", 100 * run_flipping(s, p).max_slowdown);
    std::printf("\n");
  }
  return 0;
}
