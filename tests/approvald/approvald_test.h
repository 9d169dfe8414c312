// Shared by the approvald unit tests: cmocka in C++, a fixed start time, actors
// with given roles and a valid new request.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <string>

// Project headers (and the standard ones they pull in) before cmocka, whose
// fail() macro would otherwise clash with std::basic_ios::fail.
#include "names.h"
#include "request_validation.h"
#include "request_workflow.h"
#include "roles.h"

extern "C" {
#include <cmocka.h>
}

namespace approvald_test {

using namespace lockbox;
using namespace lockbox::approval;

constexpr usec_t T0 = 1'800'000'000LL * USEC_PER_SEC;  // 2027-01-15
constexpr usec_t HOUR = 3600 * USEC_PER_SEC;
inline const std::string KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eve@laptop";
inline const std::string ID = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69";

inline Actor actor(const std::string& name, bool engineer, bool manager, bool approver) {
    Actor a;
    a.uid = 2000;
    a.name = name;
    a.engineer = engineer;
    a.manager = manager;
    a.approver = approver;
    return a;
}
inline Actor eve() { return actor("eve", true, false, false); }          // engineer
inline Actor mallory() { return actor("mallory", true, false, false); }  // another engineer
inline Actor alice() { return actor("alice", false, true, false); }      // manager
inline Actor bob() { return actor("bob", false, false, true); }          // approver
inline Actor carol() { return actor("carol", false, true, true); }       // manager and approver
inline Actor nobody() { return actor("nobody", false, false, false); }
inline Actor root() {
    Actor a = actor("root", false, false, false);
    a.uid = 0;
    a.root = true;
    return a;
}

inline NewRequest new_request() {
    NewRequest n;
    n.tenant = "contoso";
    n.ticket = "INC-1234";
    n.hosts = {"db01", "db02.contoso.example"};
    n.duration_sec = 2 * 3600;
    n.reason = "disk full on db01";
    n.ssh_keys = {KEY};
    return n;
}

inline WorkflowPolicy policy() { return WorkflowPolicy{}; }

}  // namespace approvald_test
