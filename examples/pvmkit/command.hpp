// Subcommands of the pvmkit CLI register themselves here, so each lives in its own file and main
// stays unaware of them. A command reports bad input by throwing pvmkit::config_error (exit 2).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>

namespace pvmkit::cli {

// What a command's setup returns: its subcommand, and the code to run when that was chosen.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Adds the subcommand to the top-level app (with its options bound to state the run reads).
using command_setup = std::function<command(CLI::App& app)>;

inline std::map<std::string, command_setup>& commands() {
  static std::map<std::string, command_setup> registry;
  return registry;
}

struct register_command {
  register_command(std::string name, command_setup setup) { commands().emplace(std::move(name), std::move(setup)); }
};

}  // namespace pvmkit::cli
