// pvmkit: the command-line front end. Exit codes: 0 success, 1 failure while running, 2 bad usage
// or bad input (a flag, a file, a scenario).
#include "command.hpp"

#include <pvmkit/core/error.hpp>

#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"pvmkit: placement, sizing, page selection and recovery policies for a hypervisor's privileged VM"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pvmkit 0.1.0");
  std::vector<pvmkit::cli::command> cmds;
  for (auto& [name, setup] : pvmkit::cli::commands()) cmds.push_back(setup(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "pvmkit: error: " << e.what() << "\n(run 'pvmkit --help' for usage)\n";
    return 2;
  }
  try {
    for (auto& c : cmds)
      if (c.app->parsed()) return c.run();
  } catch (const pvmkit::config_error& e) {
    std::cerr << "pvmkit: error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pvmkit: failed: " << e.what() << '\n';
    return 1;
  }
  return 1;
}
