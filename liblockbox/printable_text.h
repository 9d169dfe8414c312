// Printable text: the one definition every component uses for text that ends up
// in a log line, a terminal, a mail or a table (docs/design.md). Printable is
// well-formed UTF-8 without C0 controls, DEL or C1 controls: those would let a
// sender move the cursor, clear a screen or split a record for the reader.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lockbox {

// True when every character of text is printable (the empty string is).
bool is_printable(std::string_view text);

// A copy safe to show: each byte that is not part of a printable character
// becomes replacement ('?'; a table passes ' ' to keep its columns), and text
// over max bytes is cut at a character boundary and ends in "...".
std::string printable(std::string_view text, size_t max, char replacement = '?');

}  // namespace lockbox
