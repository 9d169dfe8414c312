// request_record: the shared store's format (approvald/request_record.h). Every
// field survives the round trip, and a record another instance wrote is
// checked as a bus argument would be: a missing, mistyped or out-of-bounds
// field is refused and named, never defaulted.
// request_record.h before approvald_test.h, which ends with cmocka.
#include "request_record.h"

#include <nlohmann/json.hpp>

#include "approvald_test.h"

using namespace approvald_test;

namespace {

Request approved_request() {
    auto r = create_request(new_request(), eve(), ID, policy(), T0);
    assert_true(r.ok());
    auto m = approve_request(*r, alice(), 0, "ok by me", policy(), T0 + 10);
    assert_true(m.ok());
    auto a = approve_request(*m, bob(), 1800, "half an hour", policy(), T0 + 20);
    assert_true(a.ok());
    a->token = "v4.public.token";
    a->closed_by = "bob";
    a->close_reason = "why not";
    a->closed_at = T0 + 30;
    return *a;
}

void test_round_trip_keeps_every_field(void**) {
    const Request r = approved_request();
    auto back = request_from_record(request_to_record(r));
    assert_true(back.ok());
    // The record is the stored form: reading it back gives the same record.
    assert_string_equal(request_to_record(*back).c_str(), request_to_record(r).c_str());
    assert_int_equal(back->state, RequestState::Approved);
    assert_string_equal(back->approver->approval.user.c_str(), "bob");
    assert_string_equal(back->manager->comment.c_str(), "ok by me");
    assert_int_equal(back->exp - back->nbf, 1800 * USEC_PER_SEC);
    assert_string_equal(back->token.c_str(), "v4.public.token");
    assert_int_equal(back->version, 0);  // the store sets it from etcd's mod_revision
}

void expect_refused(const nlohmann::json& j, const char* field) {
    auto r = request_from_record(j.dump());
    assert_false(r.ok());
    assert_int_equal(r.error().code, lockbox::Errc::StoreDamaged);
    if (field && r.error().message.find(std::string("'") + field + "'") == std::string::npos)
        fail_msg("expected field %s named in: %s", field, r.error().message.c_str());
}

void test_damaged_records_are_refused_and_named(void**) {
    const auto good = nlohmann::json::parse(request_to_record(approved_request()));
    auto j = good;
    j.erase("engineer");
    expect_refused(j, "engineer");
    j = good;
    j["exp"] = "tomorrow";
    expect_refused(j, "exp");
    j = good;
    j["state"] = "active";  // derived from the clock, never stored
    expect_refused(j, "state");
    j = good;
    j["id"] = "../../issued/grants/x";
    expect_refused(j, "id");
    j = good;
    j["hosts"] = nlohmann::json::array({"db01", "bad host;"});
    expect_refused(j, "hosts");
    j = good;
    j["engineer"] = "Eve Smith";
    expect_refused(j, "engineer");
    j = good;
    j["reason"] = std::string(4096, 'x');
    expect_refused(j, "reason");
    j = good;
    j["approver"]["role"] = "manager";  // a manager's approval filed as the approver's
    expect_refused(j, "approver");
    j = good;
    j["v"] = 2;
    expect_refused(j, nullptr);
    assert_false(request_from_record("not json").ok());
    assert_false(request_from_record(std::string(MAX_REQUEST_RECORD + 1, ' ')).ok());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_field),
        cmocka_unit_test(test_damaged_records_are_refused_and_named),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
