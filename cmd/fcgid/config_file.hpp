// `fcgid run --config FILE` and `--print-config`: run's options read from a
// TOML file, and the effective settings written back in the same format.
//
// The file holds run's options at the top level, under their long names
// without the dashes (`port = 5000`, `max-body-size = "64m"`,
// `allow = ["127.0.0.1/32", "::1"]`); sections are refused. CLI11 reads and
// applies it (App::set_config, during the parse, before requirements are
// checked); what this adds is what CLI11 2.1 does not do: a strict check of
// the file first, so that a syntax error, an unknown key or a bad value is
// one error line naming the file, the line and the key, and the rule that
// an option given on the command line overrides the file even when the two
// exclude each other (--socket on the command line wins over `port = ...`).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace fcgid::cmd {

// Declares --config on `app` (CLI11 reads config files on the top-level
// app only; `run` falls through to it, so `fcgid run --config FILE` works)
// and --print-config on `run`. `print_config` is set when it was given.
void setup_config_file(CLI::App& app, CLI::App& run, bool& print_config);

// The effective settings of a parsed `run` as a config file: every option
// set on the command line or in the file, and the others commented out
// with their defaults. Read back with --config, it gives the same settings
// and prints the same text.
std::string effective_config(const CLI::App& run);

// The error line for a failed parse: CLI11's text, except for a config
// file that cannot be read, which is said with the system's reason.
std::string parse_error_text(const CLI::ParseError& error, const CLI::App& app);

}  // namespace fcgid::cmd
