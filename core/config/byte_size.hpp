// Parsing of human-written byte sizes for options such as --memory-limit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fcgid::config {

// Parses "1048576", "512k", "256m", "2g" (suffixes k/m/g, either case, are
// powers of 1024; an optional trailing "b"/"B" after a suffix is accepted, as
// in "256MB"). Returns nullopt for anything else: empty text, signs, spaces,
// fractions, unknown suffixes, or a value that overflows 64 bits.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept;

// How a size is written on the command line, for --help defaults: the
// largest of k/m/g that divides it exactly ("64m", "256k", "1000", "0").
std::string byte_size_text(std::uint64_t bytes);

// Bytes as MiB (a fraction), for log lines such as "resident 256.0 MiB".
double to_mib(std::uint64_t bytes) noexcept;

}  // namespace fcgid::config
