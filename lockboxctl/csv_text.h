// CSV as RFC 4180 writes it, for audit trails an auditor opens in a spreadsheet:
// CRLF after every record, a field quoted (quotes doubled) when it holds a comma,
// a quote, CR or LF. Values are data, never markup: a field starting with = + - @,
// tab or CR would be run as a formula by Excel, LibreOffice and Google Sheets
// (OWASP "CSV injection"), so it gets a leading single quote, which spreadsheets
// show as text. Other control characters and malformed UTF-8 become '?', as
// lockbox::printable does for tables, so a value cannot drive a terminal either.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lockboxctl {

// One field, quoted when RFC 4180 needs it.
std::string csv_field(std::string_view value);
// Fields joined by ',' and ended by CRLF.
std::string csv_record(const std::vector<std::string>& values);

}  // namespace lockboxctl
