#include "names.h"

#include <algorithm>

#include "printable_text.h"

namespace lockbox {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

// One DNS label: 1..63 of [a-z0-9-], not starting or ending with '-' (RFC 1123
// allows a leading digit).
bool is_valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63)
        return false;
    if (label.front() == '-' || label.back() == '-')
        return false;
    for (char c : label)
        if (!is_lower(c) && !is_digit(c) && c != '-')
            return false;
    return true;
}

}  // namespace

bool is_valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > MAX_USER_NAME)
        return false;
    if (!is_lower(name[0]) && name[0] != '_')
        return false;
    for (char c : name.substr(1))
        if (!is_lower(c) && !is_digit(c) && c != '_' && c != '-')
            return false;
    return true;
}

bool is_valid_host_target(std::string_view target) {
    if (target.starts_with('@'))
        return is_valid_user_name(target.substr(1));
    return is_valid_host_name(target);
}

bool targets_cover_host(const std::vector<std::string>& targets, std::string_view host,
                        const std::vector<std::string>& groups) {
    for (const auto& t : targets) {
        if (t == host)
            return true;
        if (t.starts_with('@') &&
            std::find(groups.begin(), groups.end(), std::string_view(t).substr(1)) != groups.end())
            return true;
    }
    return false;
}

bool is_valid_host_name(std::string_view name) {
    if (name.empty() || name.size() > MAX_HOST_NAME)
        return false;
    size_t start = 0;
    while (true) {
        size_t dot = name.find('.', start);
        std::string_view label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
        if (!is_valid_label(label))
            return false;  // also refuses "", "a..b", ".a" and a trailing dot
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

bool is_valid_tenant_name(std::string_view name) {
    if (name.empty() || name.size() > MAX_TENANT_NAME)
        return false;
    if (!is_lower(name[0]) && !is_digit(name[0]))
        return false;
    for (char c : name.substr(1))
        if (!is_lower(c) && !is_digit(c) && c != '.' && c != '_' && c != '-')
            return false;
    return true;
}

bool is_valid_ticket(std::string_view ticket) {
    if (ticket.empty() || ticket.size() > MAX_TICKET)
        return false;
    for (char c : ticket)
        if (c < 0x21 || c > 0x7e)
            return false;
    return true;
}

bool is_valid_reason(std::string_view text) {
    // A reason ends up in mails, tables and terminals (printable_text.h).
    return !text.empty() && text.size() <= MAX_REASON && is_printable(text);
}

bool is_valid_uuid(std::string_view id) {
    if (id.size() != 36)
        return false;
    for (size_t i = 0; i < id.size(); i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (id[i] != '-')
                return false;
        } else if (!is_hex_lower(id[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace lockbox
