// pvmkit topology: the NUMA layout a policy would see: nodes, CPUs, memory, distances, devices.
// Sources: this machine (default), an hwloc XML export, a synthetic description with an optional
// distance matrix, or the embedded default host.
#include "command.hpp"

#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/topology/hwloc.hpp>
#include <pvmkit/topology/topology.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace {

// The host the README and the simulator fall back on: the common 2-socket server, SLIT 10/21.
constexpr const char* default_host_synthetic = "pack:2 numa:1 core:8 pu:2";
constexpr const char* default_host_distances = "10,21;21,10";

struct options {
  std::string synthetic;
  std::string distances;
  std::string xml;
  bool json = false;
  bool default_host = false;
};

std::string human_size(pvmkit::bytes b) {
  char buf[32];
  if (b.gib() >= 1.0)
    std::snprintf(buf, sizeof buf, "%.1f GiB", b.gib());
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", b.mib());
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

void print_json(const pvmkit::topology& t, const std::string& source) {
  pvmkit::json_writer w;
  w.begin_object();
  w.field("source", source);
  w.field("node_count", static_cast<std::uint64_t>(t.node_count()));
  w.field("cpu_count", static_cast<std::uint64_t>(t.cpu_count()));
  w.field("memory_bytes", t.total_memory().count());
  w.key("nodes").begin_array();
  for (const auto& n : t.nodes()) {
    w.begin_object();
    w.field("id", n.id.value());
    w.field("cpus", n.cpus.to_string());
    w.field("cpu_count", static_cast<std::uint64_t>(n.cpus.size()));
    w.field("memory_only", !n.has_cpus());
    w.field("memory_bytes", n.memory.count());
    w.field("free_memory_bytes", n.free_memory.count());
    w.end_object();
  }
  w.end_array();
  w.key("distances").begin_array();
  for (const auto& from : t.nodes()) {
    w.begin_array();
    for (const auto& to : t.nodes()) w.value(t.distance(from.id, to.id));
    w.end_array();
  }
  w.end_array();
  w.key("devices").begin_array();
  for (const auto& d : t.devices()) {
    w.begin_object();
    w.field("name", d.name);
    w.field("kind", pvmkit::to_string(d.kind));
    w.key("node");
    if (d.node.valid())
      w.value(d.node.value());
    else
      w.null();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::cout << w.str() << '\n';
}

void print_human(const pvmkit::topology& t, const std::string& source) {
  std::cout << "topology of " << source << '\n'
            << t.node_count() << " NUMA node" << (t.node_count() == 1 ? "" : "s") << ", " << t.cpu_count() << " CPUs, "
            << human_size(t.total_memory()) << " memory\n\n";

  std::cout << "node  memory      free        CPUs\n";
  for (const auto& n : t.nodes())
    std::cout << pad(std::to_string(n.id.value()), 6) << pad(human_size(n.memory), 12) << pad(human_size(n.free_memory), 12)
              << (n.has_cpus() ? n.cpus.to_string() + " (" + std::to_string(n.cpus.size()) + ")" : std::string("none: memory only"))
              << '\n';

  std::cout << "\ndistances (SLIT, 10 = local)\n" << pad("node", 6);
  for (const auto& to : t.nodes()) std::cout << pad_left(std::to_string(to.id.value()), 5);
  std::cout << '\n';
  for (const auto& from : t.nodes()) {
    std::cout << pad(std::to_string(from.id.value()), 6);
    for (const auto& to : t.nodes()) std::cout << pad_left(std::to_string(t.distance(from.id, to.id)), 5);
    std::cout << '\n';
  }

  std::cout << "\ndevices\n";
  if (t.devices().empty()) std::cout << "  (none found)\n";
  for (const auto& d : t.devices())
    std::cout << "  " << pad(d.name, 10) << pad(std::string(pvmkit::to_string(d.kind)), 9)
              << (d.node.valid() ? "node " + std::to_string(d.node.value()) : std::string("node unknown")) << '\n';
}

int run(const options& o) {
  std::string source;
  auto load = [&]() -> pvmkit::topology {
    if (o.default_host) {
      source = std::string("the default host (synthetic \"") + default_host_synthetic + "\", distances " +
               default_host_distances + ")";
      return pvmkit::hwloc::load_synthetic(default_host_synthetic, std::string_view{default_host_distances});
    }
    if (!o.xml.empty()) {
      source = "file " + o.xml;
      return pvmkit::hwloc::load_xml_file(o.xml);
    }
    if (!o.synthetic.empty()) {
      source = "synthetic \"" + o.synthetic + "\"";
      if (o.distances.empty()) return pvmkit::hwloc::load_synthetic(o.synthetic);
      source += ", distances " + o.distances;
      return pvmkit::hwloc::load_synthetic(o.synthetic, std::string_view{o.distances});
    }
    source = "this machine";
    return pvmkit::hwloc::load_this_machine();
  };
  const auto t = load();
  if (o.json)
    print_json(t, source);
  else
    print_human(t, source);
  return 0;
}

const pvmkit::cli::register_command reg{"topology", [](CLI::App& app) {
  auto o = std::make_shared<options>();
  auto* sub = app.add_subcommand("topology", "Show the NUMA topology: nodes, CPUs, memory, distances, devices");
  auto* syn = sub->add_option("--synthetic", o->synthetic, "hwloc synthetic description, e.g. \"pack:2 numa:1 core:8 pu:2\"");
  auto* dist = sub->add_option("--distances", o->distances, "NUMA distance matrix for --synthetic, rows split by ';', e.g. \"10,21;21,10\"");
  auto* xml = sub->add_option("--xml", o->xml, "hwloc XML export to load instead of this machine");
  auto* def = sub->add_flag("--default-host", o->default_host,
                            std::string("the embedded 2-socket default: \"") + default_host_synthetic + "\", distances " +
                                default_host_distances);
  sub->add_flag("--json", o->json, "print one JSON document");
  dist->needs(syn);
  syn->excludes(xml);
  syn->excludes(def);
  xml->excludes(def);
  // An empty value would silently mean "this machine"; reject it where the user can see why.
  for (auto* opt : {syn, dist, xml})
    opt->check(CLI::Validator([](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); }, "", "non-empty"));
  return pvmkit::cli::command{sub, [o] { return run(*o); }};
}};

}  // namespace
