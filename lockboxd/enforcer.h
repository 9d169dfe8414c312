// lockboxd's context: owns every piece of enforcement state and applies the
// rules. Bus-free so that unit tests drive it with a FakeClock; the bus layer
// (enforcer_service) validates arguments and credentials, then calls in here.
#pragma once

#include <deque>
#include <unordered_set>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "audit_outbox.h"
#include "bus_api.h"
#include "clock.h"
#include "config.h"
#include "grant_registry.h"
#include "grant_verifier.h"
#include "home_provisioner.h"
#include "list_page.h"
#include "local_account_guard.h"
#include "logind_client.h"
#include "nss_cache_rebuilder.h"
#include "result.h"
#include "sd_handles.h"
#include "session_killer.h"
#include "session_registry.h"
#include "uid_allocator.h"

namespace lockboxd {

// The pause between the engineer's last line and the signal that ends the
// session (Enforcer::last_line_then).
inline constexpr lockbox::usec_t NOTICE_PAUSE = 100 * lockbox::USEC_PER_MSEC;

// How long before exp an expiry's last line goes out when no KillGrace
// SIGTERM comes earlier (which the line precedes instead): NOTICE_PAUSE ahead
// of the kill, so that the kill starts on time. 0: the grace covers it.
lockbox::usec_t notice_lead(const lockbox::Config& config);

class EnforcerStore;
struct EnforcerState;

struct OpenedSession {
    std::string session_id;
    std::string grant_id;
    std::string ticket;
    lockbox::usec_t expires = 0;
};

class Enforcer {
public:
    // event may be null in unit tests (kills then poll in place).
    Enforcer(lockbox::Config config, const lockbox::Clock& clock, sd_event* event);
    ~Enforcer();

    // Trusted keys, then the state in enforcer.db (see enforcer_store.h): grants
    // (re-verified), revoked ids, uid map and sessions. Does not act yet: recover() does.
    // A damaged store is the exception: every process in the uid range is
    // killed at once, the file moved aside and audited, and the start goes on
    // with no grants (enforcer_damaged_state.cc).
    lockbox::Status load();
    // After load: ends what ended while lockboxd was down, activates what
    // started, republishes the NSS cache.
    void recover();
    // Applies every due grant event and reports the next deadline.
    std::optional<lockbox::usec_t> tick();

    void set_bus(sd_bus* bus);

    // Errc::GrantRefused (message "<verdict>: <detail>"), Errc::GrantDeferred
    // when a name lookup could not answer (sync() tries again), or Errc::Internal.
    lockbox::Result<std::string> install(std::string_view token, const std::string& actor, const std::string& source,
                                         const std::string& claimed_id = {});
    // Full list from the approval service: installs new grants, revokes listed ids.
    void sync(const std::vector<std::pair<std::string, std::string>>& grants, const std::vector<EndedGrant>& ended,
              const std::string& actor);
    // Code "not-found" for an id never seen (the id is still remembered as revoked).
    // released: the engineer or a manager ended it ("I'm done"), audited as
    // grant-released; either way by (when known) is who ended it.
    lockbox::Status revoke(const std::string& jti, const std::string& reason, const std::string& actor,
                           bool released = false, const std::string& by = {});

    // Reads [Keys] TrustedDir again (SIGHUP, or a change inside it). Every
    // installed or active grant whose signing key is no longer trusted is
    // revoked on this host for good and its engineer's processes killed at once
    // (grant-untrusted); a change of the key set is audited
    // (trusted-keys-changed, LOCKBOX_TRIGGER = trigger). A directory that is
    // gone or unsafe (writable by others) trusts nothing; a transient read
    // error keeps the keys in use. Returns how many grants were dropped.
    size_t reload_trusted_keys(const std::string& trigger);
    // An audit record from the bus layer, through the same outbox.
    void send_audit(lockbox::AuditRecord record);

    AccessAnswer check_access(const std::string& user, const std::string& service, const std::string& rhost,
                              const std::string& tty);
    lockbox::Result<OpenedSession> open_session(const std::string& user, int32_t pid, const std::string& tty,
                                                const std::string& rhost, const std::string& logind_session);
    lockbox::Status close_session(const std::string& id);
    lockbox::Status kill_session(const std::string& id, const std::string& actor);
    // authorized_keys lines for the user's active grants ("" when none, and
    // when another NSS source knows the name or its uid: see name_is_ours).
    std::string authorized_keys(const std::string& user);

    // The grants as a JSON array, newest installed first (then by jti), cut to max_bytes.
    std::string grants_json(size_t max_bytes = lockbox::bus::MAX_LIST_REPLY) const;
    // The same list in pages (ListGrantsPage): up to limit grants listed after
    // `after` (nullopt = from the newest), within max_bytes.
    lockbox::ListPage grants_page(const std::optional<lockbox::ListPosition>& after, uint32_t limit,
                                  size_t max_bytes = lockbox::bus::MAX_LIST_REPLY) const;
    std::string sessions_json() const;
    std::string status_json(bool approval_reachable) const;

    const GrantRegistry& grants() const { return grants_; }
    const SessionRegistry& sessions() const { return sessions_; }
    const UidAllocator& uids() const { return uids_; }
    const lockbox::Config& config() const { return config_; }
    size_t trusted_key_count() const { return key_count_; }

    // Hooks for the bus layer (signals) and the scheduler.
    std::function<void(const std::string& jti, const char* state)> on_grant_changed;
    std::function<void(const std::string& session_id, const std::string& jti)> on_session_killed;
    std::function<void(std::optional<lockbox::usec_t>)> on_deadline_changed;

    // Where leftovers are looked for (tests point it at a temp dir).
    LeftoverPlaces leftover_places;
    // The NSS lookups of the local-account guard, and the /proc the range sweep
    // reads (unit tests replace both; a sweep of the real /proc would end every
    // process in the default range on the machine).
    NssLookups nss_lookups;
    std::string proc_root = "/proc";
    // How long a "no other source knows it" answer serves the use checks
    // (AuthorizedKeys, CheckAccess, OpenSession), and where /etc/passwd and
    // /etc/group are: any change to those drops every cached answer at once.
    lockbox::usec_t name_check_ttl = lockbox::USEC_PER_SEC;
    std::string etc_dir = "/etc";

private:
    // One grant as ListGrants and ListGrantsPage show it.
    std::string grant_json(const Grant& g) const;
    void audit(lockbox::AuditEvent event, const std::string& actor, const lockbox::GrantClaims* claims,
               std::string message, std::vector<std::pair<std::string, std::string>> fields = {});
    // Writes the last line on the engineer's terminals, then kills. cause:
    // completed, revoked, released, key-withdrawn, recovered...; by: who
    // revoked or released, when known.
    void end_access(const std::string& user, const std::string& jti, lockbox::usec_t deadline, const char* cause,
                    const std::string& by = {});
    // Writes text once to every terminal of the engineer (terminal_notice.h:
    // theirs and those PAM named); returns how many took it.
    size_t tell_engineer(uid_t uid, const std::string& user, const std::string& text);
    // Writes the last line to uid's terminals and runs next NOTICE_PAUSE later
    // (at once when no terminal took it), so that sshd's session process,
    // which runs as the engineer and dies in the kill or at the grace's
    // SIGTERM, forwards it first. An expiry's line goes out ahead instead
    // (warn_sessions, notice_lead), so that its kill keeps the KillLead
    // schedule; a revocation's cannot be foreseen.
    void last_line_then(uid_t uid, const std::string& user, const std::string& text, std::function<void()> next);
    // jtis whose last line went out ahead of the kill (with the grace's
    // SIGTERM or at the notice lead): their kill starts without the pause.
    std::set<std::string> last_line_sent_;
    void start_kill(const std::string& user, uid_t uid, const std::string& jti, lockbox::usec_t deadline,
                    const std::vector<Session>& sessions, const std::string& cause);
    static int on_notice_pause(sd_event_source* s, uint64_t usec, void* userdata);
    std::map<sd_event_source*, std::pair<lockbox::EventSourcePtr, std::function<void()>>> paused_kills_;
    void after_kill(const std::string& user, const std::string& jti, lockbox::usec_t deadline,
                    const std::vector<Session>& sessions, const KillReport& report);
    void activate(const Grant& grant);
    void warn_sessions(const Grant& grant, lockbox::usec_t lead);
    void publish_nss();
    void on_nss_report(const NssPublishReport& report);
    // enforcer_damaged_state.cc: a damaged or missing enforcer.db.
    struct RangeSweep {
        std::vector<uid_t> uids;
        std::vector<pid_t> pids;
        bool complete = false;  // the range was empty after the last pass
    };
    lockbox::Result<EnforcerState> open_store(const std::string& dir);
    lockbox::Result<EnforcerState> load_store(const std::string& dir);
    RangeSweep kill_every_process_in_range();
    void audit_damaged(const std::string& why, const std::string& moved_to, const RangeSweep& sweep);
    void use_trusted_keys(lockbox::TrustedKeys keys);
    // Success when no NSS source but lockbox knows the name or uid; else audits
    // name-conflict (once per name and cause until it clears) and returns why.
    // fresh: ask NSS even if a recent answer is cached (install does).
    lockbox::Status name_is_ours(const std::string& user, uid_t uid, const char* use,
                                 const lockbox::GrantClaims* claims, bool fresh = false);
    // Ends every live process whose uid is in the lockbox range and held by no
    // active grant, whatever the uid map says; uids in skip are being ended already.
    void sweep_range(usec_t now, const char* cause, const std::set<uid_t>& skip = {});
    void end_unowned_uid(uid_t uid, usec_t now, const char* cause);
    // Write what changed in the registries since their last write (O(changed)).
    void end_lapsed_before_verifying(const PersistedGrants& stored, usec_t now);
    bool store_is_ours_alone(const std::string& dir) const;
    // True the first time a kill of this session is reported.
    bool note_kill_reported(const std::string& session_id);
    void persist_grants();
    void persist_sessions();
    lockbox::Status persist_uids();
    void changed();

    lockbox::Config config_;
    const lockbox::Clock& clock_;
    sd_event* event_;
    std::unique_ptr<lockbox::GrantVerifier> verifier_;
    size_t key_count_ = 0;
    std::set<std::string> trusted_kids_;
    GrantRegistry grants_;
    std::set<std::string> refused_ids_;  // grants from the approval service we refused
    SessionRegistry sessions_;
    UidAllocator uids_;
    SessionKiller killer_;
    LogindClient logind_{nullptr};
    AuditOutbox outbox_;
    std::unique_ptr<EnforcerStore> store_;  // opened by load()
    static constexpr size_t MAX_KILL_REPORTED = 4096;
    std::unordered_set<std::string> kill_reported_;
    std::deque<std::string> kill_reported_order_;
    std::vector<std::pair<std::string, std::string>> unverifiable_active_;  // (user, jti) from load()
    std::vector<std::string> dropped_grants_;  // jtis load() could not verify, forgotten by recover()
    // (user, jti) of installed or active grants whose key is no longer trusted:
    // recover() revokes them for good, as a reload would have.
    std::vector<std::pair<std::string, std::string>> untrusted_at_load_;
    void revoke_untrusted_at_load(usec_t now);
    std::map<std::string, std::string> conflicts_audited_;  // name -> last name-conflict audited
    struct NameVerdict {
        uid_t uid = 0;
        lockbox::usec_t checked_at = 0;
    };
    std::map<std::string, NameVerdict> names_ours_;  // positive answers, see name_check_ttl
    std::string names_ours_stamp_;                   // local_account_files_stamp() they were taken under
    bool nss_publish_failed_ = false;                // retried at every tick()
    bool nss_published_once_ = false;
    // Last: destroyed first, its worker joined before anything its reports use.
    std::unique_ptr<NssCacheRebuilder> nss_;
};

}  // namespace lockboxd
