#include "config_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "run_command.hpp"

namespace fcgid::cmd {
namespace {

CLI::ConfigError file_error(const std::string& path, int line, const std::string& what) {
    return CLI::ConfigError(path + ":" + std::to_string(line) + ": " + what);
}

std::string trimmed(std::string text) {
    CLI::detail::trim(text);
    return text;
}

// The line of each key, and the checks CLI11 2.1's lenient reader skips:
// it reads a line without '=' as a flag set to true, silently drops a
// section it has no subcommand for, and cuts a value at the first '#' even
// inside quotes. A key may appear once (TOML's rule; CLI11 would merge
// repeats on adjacent lines only).
std::map<std::string, int> key_lines(const std::string& text, const std::string& path) {
    std::map<std::string, int> lines;
    std::istringstream input(text);
    std::string line;
    int number = 0;
    while (std::getline(input, line)) {
        ++number;
        line = trimmed(line);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        if (line.front() == '[')
            throw file_error(path, number,
                             "sections are not used: write run's options at the top level, "
                             "e.g. port = 9000");
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            throw file_error(path, number, "expected KEY = VALUE, found '" + line + "'");
        std::string key = trimmed(line.substr(0, eq));
        CLI::detail::remove_quotes(key);
        if (key.empty()) throw file_error(path, number, "no key before '='");
        std::string value = trimmed(line.substr(eq + 1));
        const bool cut = value.find('#') != std::string::npos;
        value = trimmed(value.substr(0, value.find('#')));
        if (value.empty()) throw file_error(path, number, "'" + key + "' has no value");
        const char quote = value.front();
        if ((quote == '"' || quote == '\'') && (value.size() < 2 || value.back() != quote))
            throw file_error(path, number,
                             "unterminated string for '" + key + "'" +
                                 (cut ? " (a '#' starts a comment, even inside quotes)" : ""));
        const int key_line = number;  // errors name the key's line
        if (quote == '[') {
            // An array may go on over lines, as CLI11 reads it: up to a line
            // ending in ']'.
            while (value.back() != ']') {
                if (!std::getline(input, line))
                    throw file_error(path, key_line, "unterminated array for '" + key + "'");
                ++number;
                value += trimmed(line);
            }
        }
        if (const auto [it, added] = lines.emplace(key, key_line); !added)
            throw file_error(path, key_line,
                             "'" + key + "' is set twice (first on line " + std::to_string(it->second) + ")");
    }
    return lines;
}

// The option CLI11 applies a config key to (its own lookup order); const
// for the real `run`, mutable for the scratch one.
template <class app_type>
auto option_for(app_type& run, const std::string& key) {
    auto* op = run.get_option_no_throw("--" + key);
    if (op == nullptr && key.size() == 1) op = run.get_option_no_throw("-" + key);
    if (op == nullptr) op = run.get_option_no_throw(key);
    return op;
}

// CLI11 prefixes its messages with the option's name, which the error line
// already gives as the key.
std::string without_option_prefix(std::string message, const CLI::Option& op) {
    for (const std::string& prefix : {op.get_name() + ": ", "--" + op.get_single_name() + ": "})
        if (message.rfind(prefix, 0) == 0) return message.substr(prefix.size());
    return message;
}

// Reads the file for `run`. CLI11 calls it during the parse, after the
// command line was read, so it can tell which options the command line gave.
class run_config_reader : public CLI::ConfigTOML {
public:
    explicit run_config_reader(const CLI::App& run) : run_(run) {}
    void set_config_option(const CLI::Option* option) { config_option_ = option; }

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        const std::string path = config_option_->results().empty() ? "config file"
                                                                   : config_option_->results().front();
        std::ostringstream text;
        text << input.rdbuf();
        const std::map<std::string, int> lines = key_lines(text.str(), path);
        std::istringstream again(text.str());
        std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(again);

        std::vector<CLI::ConfigItem> kept;
        std::map<const CLI::Option*, int> file_options;  // option -> line
        for (CLI::ConfigItem& item : items) {
            const auto line_it = lines.find(item.fullname());
            const int line = line_it == lines.end() ? 0 : line_it->second;
            const CLI::Option* op = item.parents.empty() ? option_for(run_, item.name) : nullptr;
            if (op == nullptr) throw file_error(path, line, "unknown option '" + item.fullname() + "'");
            if (!op->get_configurable() || op->get_single_name() == "help")
                throw file_error(path, line, "'" + item.name + "' cannot be set in a config file");
            // `allow = []`: the list left empty, as if not set (CLI11 would
            // refuse an option with no value).
            if (item.inputs.empty() && op->get_expected_max() > 1) continue;
            check_value(item, path, line);
            if (overridden(*op)) continue;
            file_options.emplace(op, line);
            item.parents.insert(item.parents.begin(), run_.get_name());
            kept.push_back(std::move(item));
        }
        check_requirements(file_options, path);
        return kept;
    }

private:
    // Applies the value to a scratch `run` as CLI11 will apply it to the
    // real one, so its conversions and validators judge it here, where the
    // line is known.
    void check_value(const CLI::ConfigItem& item, const std::string& path, int line) const {
        CLI::App scratch;
        run_options scratch_options;
        CLI::Option* op = option_for(setup_run_command(scratch, scratch_options), item.name);
        try {
            if (op->get_expected_min() == 0)
                op->add_result(op->get_flag_value(item.name, to_flag(item)));
            else
                op->add_result(item.inputs);
            op->run_callback();
        } catch (const CLI::Error& e) {
            throw file_error(path, line, "bad value for '" + item.name + "': " + without_option_prefix(e.what(), *op));
        }
    }

    // The command line overrides the file, also where the two exclude
    // each other: --socket given there drops `port` (and `host`) here.
    bool overridden(const CLI::Option& op) const {
        for (const CLI::Option* other : op.get_excludes())
            if (other->count() > 0) return true;
        for (const CLI::Option* needed : op.get_needs())
            for (const CLI::Option* other : needed->get_excludes())
                if (other->count() > 0) return true;
        return false;
    }

    // What CLI11 would report later without the file's name: two keys that
    // exclude each other, a key that needs an option set nowhere.
    static void check_requirements(const std::map<const CLI::Option*, int>& file_options, const std::string& path) {
        for (const auto& [op, line] : file_options) {
            for (const CLI::Option* other : op->get_excludes()) {
                const auto it = file_options.find(other);
                if (it != file_options.end() && it->second < line)
                    throw file_error(path, line,
                                     "'" + op->get_single_name() + "' cannot be used with '" +
                                         other->get_single_name() + "' (line " + std::to_string(it->second) + ")");
            }
            for (const CLI::Option* needed : op->get_needs())
                if (needed->count() == 0 && file_options.count(needed) == 0)
                    throw file_error(path, line,
                                     "'" + op->get_single_name() + "' needs '" + needed->get_single_name() + "'");
        }
    }

    const CLI::App& run_;
    const CLI::Option* config_option_ = nullptr;
};

// A value as TOML: whole numbers (no leading zero: TOML reads 0660 as
// invalid) and the flag words bare, the rest quoted. CLI11 strips the
// quotes without reading escapes, so a value holding '"' gets '...'.
std::string toml_value(const std::string& value) {
    const bool number = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
                        (value == "0" || value.front() != '0');
    if (number || value == "true" || value == "false") return value;
    const char quote = value.find('"') == std::string::npos ? '"' : '\'';
    return quote + value + quote;
}

std::string toml_array(const std::vector<std::string>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + toml_value(values[i]);
    return out + "]";
}

bool is_flag(const CLI::Option& op) { return op.get_expected_min() == 0; }
bool is_list(const CLI::Option& op) { return op.get_expected_max() > 1; }

// A set option's value: a flag given twice (-vv) as its count.
std::string set_value(const CLI::Option& op) {
    const auto& results = op.results();
    if (is_flag(op)) return results.size() > 1 ? std::to_string(results.size()) : toml_value(results.back());
    if (is_list(op)) return toml_array(results);
    return toml_value(results.back());
}

std::string default_value(const CLI::Option& op) {
    if (is_flag(op)) return "false";
    if (is_list(op)) return "[]";
    return toml_value(op.get_default_str());
}

}  // namespace

void setup_config_file(CLI::App& app, CLI::App& run, bool& print_config) {
    auto reader = std::make_shared<run_config_reader>(run);
    app.config_formatter(reader);
    CLI::Option* config = app.set_config("--config", "", "Read run's options from this TOML file (KEY = VALUE "
                                                         "lines, names as on the command line without '--'; "
                                                         "the command line overrides it)");
    config->type_name("FILE");
    reader->set_config_option(config);
    // Only the top-level app reads config files in CLI11 2.1; `run` passes
    // the options it does not know (--config) up to it.
    run.fallthrough();
    run.add_flag("--print-config", print_config,
                 "Print the effective settings as a config file for --config, and exit")
        ->configurable(false);
}

std::string effective_config(const CLI::App& run) {
    std::string out =
        "# fcgid run settings, for `fcgid run --config FILE`.\n"
        "# Lines starting with '#' show defaults that were not set.\n";
    for (const CLI::Option* op : run.get_options()) {
        if (!op->get_configurable() || op->get_single_name() == "help" || op->get_lnames().empty()) continue;
        const std::string& name = op->get_lnames().front();
        if (op->count() > 0)
            out += name + " = " + set_value(*op) + "\n";
        else
            out += "# " + name + " = " + default_value(*op) + "\n";
    }
    return out;
}

std::string parse_error_text(const CLI::ParseError& error, const CLI::App& app) {
    const CLI::Option* config = app.get_config_ptr();
    if (dynamic_cast<const CLI::FileError*>(&error) == nullptr || config == nullptr || config->results().empty())
        return error.what();
    const std::string& path = config->results().front();
    struct stat info {};
    std::string reason;
    if (::stat(path.c_str(), &info) != 0)
        reason = std::strerror(errno);
    else if (S_ISDIR(info.st_mode))
        reason = "is a directory";
    else if (std::FILE* file = std::fopen(path.c_str(), "r"); file == nullptr)
        reason = std::strerror(errno);
    else {
        std::fclose(file);
        reason = "is not a regular file";
    }
    return "config file " + path + ": " + reason;
}

}  // namespace fcgid::cmd
