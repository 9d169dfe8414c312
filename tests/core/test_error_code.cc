// The error vocabulary (liblockbox/error_code.h): every code has a distinct
// name, a bus error of the Lockbox contract and a documented meaning in the
// "Error codes" table of docs/bus-api.md (argv[1], or LOCKBOX_SOURCE_ROOT).
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "core_test.h"
#include "error_code.h"

using lockbox::ALL_ERRCS;
using lockbox::Errc;

namespace {

std::string doc_path;

struct DocRow {
    std::string bus_name;
    std::string meaning;
};

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(' ');
    size_t e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string unquote(const std::string& cell) {
    if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`')
        return cell.substr(1, cell.size() - 2);
    return "";
}

// Rows of the table under "## Error codes": | `code` | `bus error` | meaning |
std::map<std::string, DocRow> documented_codes() {
    std::ifstream in(doc_path);
    if (!in)
        fail_msg("cannot open %s (pass docs/bus-api.md or set LOCKBOX_SOURCE_ROOT)", doc_path.c_str());
    std::map<std::string, DocRow> rows;
    bool in_section = false;
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("## "))
            in_section = line == "## Error codes";
        if (!in_section || !line.starts_with("| `"))
            continue;
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        for (std::string cell; std::getline(ss, cell, '|');)
            cells.push_back(trim(cell));
        if (cells.size() != 3)
            fail_msg("not a three-column row: %s", line.c_str());
        const std::string code = unquote(cells[0]);
        if (code.empty() || !rows.emplace(code, DocRow{unquote(cells[1]), cells[2]}).second)
            fail_msg("a row without a code, or a code listed twice: %s", line.c_str());
    }
    return rows;
}

bool is_lockbox_bus_error(const std::string& name) {
    return name == lockbox::bus::ERROR_NOT_FOUND || name == lockbox::bus::ERROR_INVALID_STATE ||
           name == lockbox::bus::ERROR_INVALID_ARGUMENT || name == lockbox::bus::ERROR_SEPARATION_OF_DUTIES ||
           name == lockbox::bus::ERROR_GRANT_REFUSED || name == lockbox::bus::ERROR_INTERNAL ||
           name == lockbox::bus::ERROR_ACCESS_DENIED;
}

void test_every_code_is_listed_once_in_order(void**) {
    for (size_t i = 0; i < std::size(ALL_ERRCS); i++)
        if (static_cast<size_t>(ALL_ERRCS[i]) != i)
            fail_msg("ALL_ERRCS[%zu] is %s, not the code numbered %zu", i, lockbox::errc_name(ALL_ERRCS[i]), i);
}

void test_every_code_has_a_distinct_name_and_a_contract_bus_error(void**) {
    std::set<std::string> names;
    for (Errc c : ALL_ERRCS) {
        const std::string name = lockbox::errc_name(c);
        if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos)
            fail_msg("code %d has the name '%s', not [a-z-]+", static_cast<int>(c), name.c_str());
        if (!names.insert(name).second)
            fail_msg("two codes are named %s", name.c_str());
        if (!is_lockbox_bus_error(lockbox::bus_error_name(c)))
            fail_msg("%s maps to %s, which bus_api.h does not name", name.c_str(), lockbox::bus_error_name(c));
    }
}

void test_every_code_is_documented_with_its_bus_error_and_a_meaning(void**) {
    auto rows = documented_codes();
    for (Errc c : ALL_ERRCS) {
        const char* name = lockbox::errc_name(c);
        auto it = rows.find(name);
        if (it == rows.end())
            fail_msg("%s has no row in the Error codes table of %s", name, doc_path.c_str());
        if (it->second.bus_name != lockbox::bus_error_name(c))
            fail_msg("%s: the table says %s, the code replies %s", name, it->second.bus_name.c_str(),
                     lockbox::bus_error_name(c));
        if (it->second.meaning.size() < 10)
            fail_msg("%s: no meaning documented", name);
        rows.erase(it);
    }
    if (!rows.empty())
        fail_msg("the table documents %s, which is not a code", rows.begin()->first.c_str());
}

void test_every_bus_error_of_the_contract_is_used(void**) {
    std::set<std::string> used;
    for (Errc c : ALL_ERRCS)
        used.insert(lockbox::bus_error_name(c));
    for (const char* name :
         {lockbox::bus::ERROR_NOT_FOUND, lockbox::bus::ERROR_INVALID_STATE, lockbox::bus::ERROR_INVALID_ARGUMENT,
          lockbox::bus::ERROR_SEPARATION_OF_DUTIES, lockbox::bus::ERROR_GRANT_REFUSED, lockbox::bus::ERROR_INTERNAL,
          lockbox::bus::ERROR_ACCESS_DENIED})
        if (!used.count(name))
            fail_msg("no code replies %s", name);
}

// Names other documents and tests promise: docs/pam.md's log lines, the audit
// fields of docs/approval.md and docs/enforcement.md, test_audit_journal.py.
void test_names_promised_elsewhere_are_stable(void**) {
    assert_string_equal(lockbox::errc_name(Errc::Timeout), "timeout");
    assert_string_equal(lockbox::errc_name(Errc::Malformed), "malformed");
    assert_string_equal(lockbox::errc_name(Errc::Unavailable), "unavailable");
    assert_string_equal(lockbox::errc_name(Errc::NameConflict), "name-conflict");
    assert_string_equal(lockbox::errc_name(Errc::NssLookupFailed), "nss-lookup-failed");
    assert_string_equal(lockbox::errc_name(Errc::JournalUnavailable), "journal-unavailable");
    assert_string_equal(lockbox::errc_name(Errc::AccessDenied), "access-denied");
    assert_string_equal(lockbox::errc_name(Errc::InvalidState), "invalid-state");
    assert_string_equal(lockbox::errc_name(Errc::SeparationOfDuties), "separation-of-duties");
}

// The refusals approvald and lockboxd answered before there was one mapping.
void test_bus_errors_of_the_refusals_are_unchanged(void**) {
    assert_string_equal(lockbox::bus_error_name(Errc::AccessDenied), "org.freedesktop.DBus.Error.AccessDenied");
    assert_string_equal(lockbox::bus_error_name(Errc::NotFound), "org.lockbox.Error.NotFound");
    assert_string_equal(lockbox::bus_error_name(Errc::InvalidState), "org.lockbox.Error.InvalidState");
    assert_string_equal(lockbox::bus_error_name(Errc::Conflict), "org.lockbox.Error.InvalidState");
    assert_string_equal(lockbox::bus_error_name(Errc::InvalidArgument), "org.lockbox.Error.InvalidArgument");
    assert_string_equal(lockbox::bus_error_name(Errc::SeparationOfDuties), "org.lockbox.Error.SeparationOfDuties");
    assert_string_equal(lockbox::bus_error_name(Errc::GrantRefused), "org.lockbox.Error.GrantRefused");
    assert_string_equal(lockbox::bus_error_name(Errc::GrantDeferred), "org.lockbox.Error.GrantRefused");
    assert_true(lockbox::is_internal(Errc::Internal));
    assert_true(lockbox::is_internal(Errc::StoreError));
    assert_false(lockbox::is_internal(Errc::Conflict));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1)
        doc_path = argv[1];
    else if (const char* root = std::getenv("LOCKBOX_SOURCE_ROOT"))
        doc_path = std::string(root) + "/docs/bus-api.md";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_is_listed_once_in_order),
        cmocka_unit_test(test_every_code_has_a_distinct_name_and_a_contract_bus_error),
        cmocka_unit_test(test_every_code_is_documented_with_its_bus_error_and_a_meaning),
        cmocka_unit_test(test_every_bus_error_of_the_contract_is_used),
        cmocka_unit_test(test_names_promised_elsewhere_are_stable),
        cmocka_unit_test(test_bus_errors_of_the_refusals_are_unchanged),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
