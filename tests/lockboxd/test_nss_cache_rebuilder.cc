// The NSS cache kept in step off the event loop (lockboxd/nss_cache_rebuilder.h):
// an engineer whose last grant ended stops resolving before publish() returns,
// even while a rebuild that still lists them is running, and that rebuild's
// file never brings them back; new engineers arrive with the next rebuild,
// whose report comes back through the event loop. Also expire_nss_names, the
// in-place patch the withdrawal rests on.

#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <systemd/sd-event.h>

#include "clock.h"
#include "config.h"
#include "nss_cache.h"
#include "nss_cache_format.h"
#include "nss_cache_rebuilder.h"
#include "sd_handles.h"
#include "temp_dir.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

#include "nss_cache_probe.h"

using namespace lockboxd;

namespace {

constexpr lockbox::usec_t LATER = 4102444800000000;  // 2100-01-01

lockbox::Config test_config(const TempDir& t) {
    lockbox::Config c = lockbox::default_config();
    c.runtime_dir = t / "run";
    c.home_base = "/var/lib/lockbox/home";
    c.shell = "/bin/bash";
    return c;
}

NssEngineer engineer(const std::string& name, uint32_t uid) { return {name, uid, "INC-1", LATER, ""}; }

// Holds each rebuild of the worker between encoding and writing until the
// test lets it go: enter() runs on the worker.
class RebuildGate {
public:
    void enter() {
        std::unique_lock lock(m_);
        entered_++;
        cv_.notify_all();
        cv_.wait(lock, [&] { return allowed_ >= entered_; });
    }
    void await_entered(int n) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return entered_ >= n; });
    }
    void allow(int n) {
        std::lock_guard lock(m_);
        allowed_ = n;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int entered_ = 0, allowed_ = 0;
};

void test_an_ended_name_stops_resolving_at_once_and_a_rebuild_in_flight_never_revives_it(void**) {
    TempDir t;
    auto c = test_config(t);
    sd_event* raw = nullptr;
    assert_int_equal(sd_event_new(&raw), 0);
    lockbox::EventPtr event(raw);
    int reports = 0;
    RebuildGate gate;
    NssCacheRebuilder rebuilder(
        c, event.get(),
        [&](const NssPublishReport& r) {
            assert_true(r.written.ok());
            reports++;
        },
        /*wait_below=*/0);
    rebuilder.after_encode_for_tests = [&] { gate.enter(); };

    rebuilder.set("grant-ann", engineer("ann", 2100000001));
    rebuilder.publish(/*wait=*/false);
    gate.await_entered(1);
    gate.allow(1);
    rebuilder.publish(/*wait=*/true);  // nothing new: waits for the one in flight
    assert_true(resolves(c, "ann"));

    // A rebuild that lists ann (and adds bob) is held between encoding and
    // writing when ann's grant ends.
    rebuilder.set("grant-bob", engineer("bob", 2100000002));
    rebuilder.publish(/*wait=*/false);
    gate.await_entered(2);
    rebuilder.drop("grant-ann");
    rebuilder.publish(/*wait=*/false);
    // Before publish() returned, not after some rebuild.
    assert_false(resolves(c, "ann"));
    assert_false(resolves(c, "bob"));  // bob's rebuild is still held

    // The held rebuild writes its file; the next one (ann dropped) is held in
    // turn, so the file on disk now is the one encoded while ann was listed.
    gate.allow(2);
    gate.await_entered(3);
    auto held = records_in(read_bytes(c.nss_cache_path()));
    assert_int_equal(held.users.count("ann"), 1);  // it was encoded with ann...
    assert_false(resolves(c, "ann"));              // ...and expired before its rename
    assert_true(resolves(c, "bob"));

    gate.allow(3);
    rebuilder.publish(/*wait=*/true);
    auto last = records_in(read_bytes(c.nss_cache_path()));
    assert_int_equal(last.users.count("ann"), 0);
    assert_true(resolves(c, "bob"));

    // The reports of rebuilds nobody waited for come back through the loop.
    for (int i = 0; i < 100 && reports < 3; i++)
        assert_true(sd_event_run(event.get(), 100 * lockbox::USEC_PER_MSEC) >= 0);
    assert_int_equal(reports, 3);
}

// One grant of two ending leaves the engineer resolving; a grant ended and
// another activated in the same publish is no withdrawal either.
void test_a_name_is_withdrawn_only_when_its_last_grant_ends(void**) {
    TempDir t;
    auto c = test_config(t);
    NssCacheRebuilder rebuilder(c, nullptr, {});
    rebuilder.set("g1", engineer("ann", 2100000001));
    rebuilder.set("g2", engineer("ann", 2100000001));
    rebuilder.publish(false);
    assert_true(resolves(c, "ann"));
    rebuilder.drop("g1");
    rebuilder.publish(false);
    assert_true(resolves(c, "ann"));
    rebuilder.drop("g2");
    rebuilder.set("g3", engineer("ann", 2100000001));
    rebuilder.publish(false);
    assert_true(resolves(c, "ann"));
    rebuilder.drop("g3");
    rebuilder.publish(false);
    assert_false(resolves(c, "ann"));
    assert_false(rebuilder.holds_name("ann"));
}

// A file left by a previous lockboxd is patched too: a withdrawal before the
// first rebuild of this process reads it from disk.
void test_a_withdrawal_patches_the_file_a_previous_run_left(void**) {
    TempDir t;
    auto c = test_config(t);
    assert_int_equal(mkdir(c.runtime_dir.c_str(), 0755), 0);
    assert_true(publish_nss_cache({engineer("ann", 2100000001), engineer("bob", 2100000002)}, c).written.ok());
    sd_event* raw = nullptr;
    assert_int_equal(sd_event_new(&raw), 0);
    lockbox::EventPtr event(raw);
    RebuildGate gate;
    NssCacheRebuilder rebuilder(c, event.get(), {}, /*wait_below=*/0);
    rebuilder.after_encode_for_tests = [&] { gate.enter(); };
    rebuilder.set("g-ann", engineer("ann", 2100000001));
    rebuilder.drop("g-ann");  // lost before any rebuild of this process
    rebuilder.publish(false);
    gate.await_entered(1);
    assert_false(resolves(c, "ann"));
    assert_true(resolves(c, "bob"));  // the old file, patched, not yet rebuilt
    gate.allow(1);
    rebuilder.publish(true);
    assert_false(resolves(c, "bob"));  // this process knows no grant of bob's
}

void test_expire_nss_names_expires_exactly_the_names_given(void**) {
    std::vector<lockbox::NssUserEntry> users = {
        {"ann", 2100000001, 2100000001, "g", "/h/ann", "/bin/sh", LATER},
        {"bob", 2100000002, 2100000002, "g", "/h/bob", "/bin/sh", LATER},
    };
    std::vector<lockbox::NssGroupEntry> groups = {
        {"ann", 2100000001, {}, LATER}, {"bob", 2100000002, {}, LATER}, {"team", 2100000009, {"ann", "bob"}, LATER}};
    auto bytes = lockbox::encode_nss_cache(users, groups, 1);
    assert_true(bytes.ok());
    auto expired = lockbox::expire_nss_names(*bytes, {"ann", "nobody"});
    assert_true(expired.ok());
    assert_int_equal(*expired, 2);  // ann's passwd record and her personal group
    auto r = records_in(*bytes);
    assert_int_equal(r.users["ann"], 0);
    assert_int_equal(r.groups["ann"], 0);
    assert_int_equal(r.users["bob"], LATER);
    assert_int_equal(r.groups["bob"], LATER);
    assert_int_equal(r.groups["team"], LATER);

    std::vector<uint8_t> garbage(4096, 0x5a);
    auto refused = lockbox::expire_nss_names(garbage, {"ann"});
    assert_false(refused.ok());
    assert_int_equal(static_cast<int>(refused.error().code), static_cast<int>(lockbox::Errc::InvalidArgument));
    bytes->resize(bytes->size() - 8);  // file_size no longer matches
    assert_false(lockbox::expire_nss_names(*bytes, {"bob"}).ok());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_ended_name_stops_resolving_at_once_and_a_rebuild_in_flight_never_revives_it),
        cmocka_unit_test(test_a_name_is_withdrawn_only_when_its_last_grant_ends),
        cmocka_unit_test(test_a_withdrawal_patches_the_file_a_previous_run_left),
        cmocka_unit_test(test_expire_nss_names_expires_exactly_the_names_given),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
