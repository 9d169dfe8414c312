// requests_to_json: the ListRequests reply keeps the given order (the store's,
// newest first) and holds only what fits one bus message.
// request_json.h (nlohmann) before approvald_test.h, which ends with cmocka.
#include "request_json.h"

#include "approvald_test.h"

using namespace approvald_test;

namespace {

std::vector<Request> three_requests() {
    std::vector<Request> out;
    for (const char* id : {"3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a03", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a02",
                           "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a01"}) {
        auto r = create_request(new_request(), eve(), id, policy(), T0);
        assert_true(r.ok());
        out.push_back(*r);
    }
    return out;
}

void test_all_fit_in_order(void**) {
    auto rs = three_requests();
    size_t left_out = 99;
    auto a = nlohmann::json::parse(requests_to_json(rs, T0, 1 << 20, &left_out));
    assert_int_equal(a.size(), 3);
    assert_int_equal(left_out, 0);
    assert_string_equal(a[0]["id"].get<std::string>().c_str(), rs[0].id.c_str());
    assert_string_equal(a[2]["id"].get<std::string>().c_str(), rs[2].id.c_str());
}

void test_cut_keeps_the_first_and_counts_the_rest(void**) {
    auto rs = three_requests();
    size_t one = request_to_json(rs[0], T0).dump().size() + 2;  // "[" item "]"
    size_t left_out = 0;
    auto a = nlohmann::json::parse(requests_to_json(rs, T0, one, &left_out));
    assert_int_equal(a.size(), 1);
    assert_int_equal(left_out, 2);
    assert_string_equal(a[0]["id"].get<std::string>().c_str(), rs[0].id.c_str());
    assert_int_equal(nlohmann::json::parse(requests_to_json(rs, T0, 1, &left_out)).size(), 0);
    assert_int_equal(left_out, 3);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fit_in_order),
        cmocka_unit_test(test_cut_keeps_the_first_and_counts_the_rest),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
