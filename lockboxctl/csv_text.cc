#include "csv_text.h"

#include "printable_text.h"

namespace lockboxctl {
namespace {

// Characters that make a spreadsheet cell a formula (or, for tab and CR, let
// one through after the cell is trimmed).
bool starts_formula(std::string_view value) {
    if (value.empty())
        return false;
    switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
        return true;
    default:
        return false;
    }
}

// Tab, CR and LF are data in a quoted field; every other byte that is not part
// of a printable character becomes '?'. The text between them goes through the
// one printable-text check (lockbox::printable never grows its input, so a bound
// of the input's own size never cuts).
std::string neutralized(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 1);
    size_t start = 0;
    while (start <= value.size()) {
        size_t end = value.find_first_of("\t\r\n", start);
        std::string_view run =
            value.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        out += lockbox::printable(run, run.size(), '?');
        if (end == std::string_view::npos)
            break;
        out += value[end];
        start = end + 1;
    }
    return out;
}

}  // namespace

std::string csv_field(std::string_view value) {
    std::string text = neutralized(value);
    if (starts_formula(text))
        text.insert(0, 1, '\'');
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

std::string csv_record(const std::vector<std::string>& values) {
    std::string line;
    for (size_t i = 0; i < values.size(); i++) {
        if (i)
            line += ',';
        line += csv_field(values[i]);
    }
    line += "\r\n";
    return line;
}

}  // namespace lockboxctl
