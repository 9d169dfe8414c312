// The org.lockbox.Approval1 method handlers (see approval_service.h for the shape).
// Every handler starts with the same prologue (Call::admit) and leaves every
// decision on who may do what to the workflow (request_workflow.h).
#include <pwd.h>
#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <optional>

#include <systemd/sd-id128.h>

#include "approval_service.h"
#include "access_level.h"
#include "bus_api.h"
#include "bus_args.h"
#include "daemon_log.h"
#include "list_page.h"
#include "names.h"
#include "request_json.h"
#include "time_format.h"

namespace lockbox::approval {

namespace {

constexpr size_t MAX_ARG = bus::MAX_STRING_ARG;

// The caller whose credentials the bus could not tell; its refusals share one
// limiter window (uid -1).
Actor unknown_caller() {
    Actor a;
    a.name = "unknown";
    return a;
}

Result<std::string> new_request_id() {
    sd_id128_t id;
    int r = sd_id128_randomize(&id);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot generate a request id: ") + std::strerror(-r));
    char s[SD_ID128_UUID_STRING_MAX];
    return std::string(sd_id128_to_uuid_string(id, s));
}

int reply_string(sd_bus_message* m, const std::string& s) { return sd_bus_reply_method_return(m, "s", s.c_str()); }

// Appends "as"; r carries the first failure through, as the callers' chains do.
int append_strings(sd_bus_message* m, const std::vector<std::string>& strings, int r) {
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "s");
    for (const auto& s : strings)
        if (r >= 0)
            r = sd_bus_message_append_basic(m, 's', s.c_str());
    return r >= 0 ? sd_bus_message_close_container(m) : r;
}

// A failed commit is told to the caller as a conflict when another call changed
// the request first (they may retry); anything else is the store's fault.
Error commit_error(const Error& err) {
    return err.code == Errc::Conflict ? err : make_error(Errc::Internal, err.message);
}

// A grant for root, daemon, sshd... would be refused by every lockboxd (local
// accounts always win); refusing it here tells the requester at once. Only
// system accounts (uid below Debian's UID_MIN) are refused: an engineer may well
// have a personal account on the approval host itself.
Status refuse_system_account(const std::string& engineer) {
    constexpr uid_t FIRST_REGULAR_UID = 1000;
    passwd pw{};
    passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(engineer.c_str(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_uid < FIRST_REGULAR_UID)
        return make_error(Errc::InvalidArgument,
                          "engineer: '" + engineer + "' is a system account; Lockbox never grants access to one");
    return {};
}

// The first refusal among the checks of a call's arguments, in argument order.
Status first_refusal(std::initializer_list<Status> checks) {
    for (const auto& s : checks)
        if (!s)
            return s;
    return {};
}

}  // namespace

// One method call from the handler's point of view: the prologue every handler
// shares, then the caller and the request it names, and its refusals.
class ApprovalService::Call {
public:
    Call(ApprovalService& service, sd_bus_message* m, sd_bus_error* e, const char* method)
        : args(m), service_(service), e_(e), method_(method), caller_(service.caller(m)) {}

    ArgReader args;

    // The prologue, in this order: who calls (refused as "unknown" when the bus
    // cannot tell), the arguments as read and bounded, their validation, the
    // workflow's role gate (authorize) and, when id is given, that request
    // loaded after any due expiry. False when the call was refused; the handler
    // then returns reply().
    bool admit(const Status& validation, std::optional<Operation> gate, const std::string* id = nullptr) {
        if (!caller_) {
            reply_ = service_.refuse(e_, method_, unknown_caller(), caller_.error());
            return false;
        }
        if (!args.ok())
            return refused(args.error());
        if (!validation)
            return refused(validation.error());
        // A host that follows the fleet holds no requests: they are filed and
        // approved on the tenant's approval service.
        if (service_.fleet_host_ && std::strcmp(method_, "GetHostGrants") != 0 &&
            std::strcmp(method_, "GetCallerRoles") != 0 && std::strcmp(method_, "GetAccessLevels") != 0)
            return refused(make_error(Errc::Refused,
                                      "this host follows the fleet ([Fleet] Mode=host): file, approve "
                                      "and revoke requests on the tenant's approval service"));
        if (gate)
            if (auto s = authorize(*gate, *caller_, service_.policy_); !s)
                return refused(s.error());
        if (id) {
            auto r = service_.load(*id);
            if (!r)
                return refused(r.error());
            request_ = std::move(*r);
        }
        return true;
    }

    const Actor& actor() const { return *caller_; }
    const Request& request() const { return *request_; }
    // A refusal after the prologue; its audit record names the loaded request.
    int refuse(const Error& err) {
        refused(err);
        return reply_;
    }
    int reply() const { return reply_; }

private:
    bool refused(const Error& err) {
        reply_ = service_.refuse(e_, method_, *caller_, err, request_ ? &*request_ : nullptr);
        return false;
    }

    ApprovalService& service_;
    sd_bus_error* e_;
    const char* method_;
    Result<Actor> caller_;
    std::optional<Request> request_;
    int reply_ = 0;
};

int ApprovalService::create_request(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "CreateRequest");
    NewRequest in;
    in.tenant = call.args.str("tenant", MAX_ARG);
    in.ticket = call.args.str("ticket", MAX_ARG);
    in.hosts = call.args.strv("hosts", MAX_HOSTS, MAX_HOST_NAME);
    in.duration_sec = call.args.u64("duration_sec");
    in.reason = call.args.str("reason", MAX_ARG);
    in.ssh_keys = call.args.strv("ssh_keys", MAX_SSH_KEYS, MAX_SSH_KEY);
    in.engineer = call.args.str("engineer", MAX_ARG);
    in.start_usec = call.args.u64("start_usec");
    in.access = call.args.str("access", MAX_ARG);
    // No role gate: who may file for whom depends on the request (create_request).
    if (!call.admit(validate_new_request(in, config_.tenant, config_.max_grant), std::nullopt))
        return call.reply();
    const Actor& actor = call.actor();
    auto id = new_request_id();
    if (!id)
        return call.refuse(id.error());
    auto r = approval::create_request(in, actor, *id, policy_, clock_.now());
    if (!r)
        return call.refuse(r.error());
    if (auto s = refuse_system_account(r->engineer); !s)
        return call.refuse(s.error());
    auto a = audit_for(AuditEvent::RequestCreated, actor.name, *r,
                       actor.name + " requested " + r->access + " access for " + r->engineer + " to " + r->tenant +
                           " (ticket " + r->ticket + ") for " + format_duration(r->duration) +
                           (r->nbf != 0 ? " from " + format_rfc3339(r->nbf) : ""));
    a.fields["ACCESS"] = r->access;
    a.fields["REASON"] = r->reason;
    a.fields["DURATION"] = std::to_string(r->duration / USEC_PER_SEC);
    std::string hosts;
    for (const auto& h : r->hosts)
        hosts += (hosts.empty() ? "" : " ") + h;
    a.fields["HOSTS"] = hosts;
    if (r->nbf != 0)
        a.fields["START"] = format_rfc3339(r->nbf);
    if (auto s = store_->insert(*r, {a}); !s)
        return call.refuse(make_error(Errc::Internal, s.error().message));
    forward_outbox();
    arm_expiry_timer();
    emit("RequestChanged", r->id, state_name(r->state));
    return reply_string(m, r->id);
}

int ApprovalService::approve_request(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "ApproveRequest");
    const std::string id = call.args.str("id", MAX_ARG);
    const uint64_t duration = call.args.u64("duration_sec");
    const std::string comment = call.args.str("comment", MAX_ARG);
    const std::string access = call.args.str("access", MAX_ARG);
    if (!call.admit(first_refusal({validate_request_id(id), validate_text("comment", comment, MAX_COMMENT, false),
                                   duration != 0 ? validate_duration(duration, config_.max_grant) : Status{}}),
                    Operation::Approve, &id))
        return call.reply();
    const Actor& actor = call.actor();
    const Request& r = call.request();
    auto next = approval::approve_request(r, actor, duration, comment, policy_, clock_.now(), access);
    if (!next)
        return call.refuse(next.error());

    std::vector<AuditEntry> audit;
    const bool final_stage = next->state == RequestState::Approved;
    auto a = audit_for(final_stage ? AuditEvent::ApproverApproved : AuditEvent::ManagerApproved, actor.name, *next,
                       actor.name + " approved request " + id + " as " + (final_stage ? "approver" : "manager"));
    if (!comment.empty())
        a.fields["COMMENT"] = comment;
    a.fields["DURATION"] = std::to_string(next->duration / USEC_PER_SEC);
    if (!next->access.empty())
        a.fields["ACCESS"] = next->access;
    audit.push_back(a);
    // In a fleet the tenant's signer signs what the shared workflow approved
    // (fleet_signer.h); only a single host signs here.
    const bool sign_here = final_stage && config_.fleet.mode == FleetMode::None;
    if (sign_here) {
        auto token = issuer_.issue(*next);
        if (!token)
            return call.refuse(make_error(Errc::Internal, token.error().message));
        next->token = std::move(*token);
        auto g = audit_for(AuditEvent::GrantIssued, actor.name, *next,
                           "grant " + id + " issued for " + next->engineer + ", access " +
                               effective_access_level(policy_.access_levels, next->access) + ", valid " +
                               format_rfc3339(next->nbf) + " to " + format_rfc3339(next->exp));
        g.fields["NBF"] = format_rfc3339(next->nbf);
        g.fields["EXP"] = format_rfc3339(next->exp);
        audit.push_back(g);
    }
    // The final approval on the tenant's active signer is signed and published
    // in its own transaction; on any other instance, or when that fails, the
    // approval is stored alone and the active signer's watch signs it.
    const bool signed_inline = final_stage && fleet_signer_ && fleet_signer_->sign_with_approval(*next, audit);
    if (signed_inline)
        after_transition(*next);
    else if (auto s = commit_transition(r, *next, audit); !s)
        return call.refuse(commit_error(s.error()));
    if (sign_here || signed_inline)
        emit("GrantIssued", id);
    return reply_string(m, state_name(next->state));
}

int ApprovalService::deny_request(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "DenyRequest");
    const std::string id = call.args.str("id", MAX_ARG);
    const std::string reason = call.args.str("reason", MAX_ARG);
    if (!call.admit(first_refusal({validate_request_id(id), validate_text("reason", reason, MAX_REASON, true)}),
                    Operation::Deny, &id))
        return call.reply();
    const Actor& actor = call.actor();
    const Request& r = call.request();
    auto next = approval::deny_request(r, actor, reason, policy_, clock_.now());
    if (!next)
        return call.refuse(next.error());
    auto a = audit_for(AuditEvent::RequestDenied, actor.name, *next, actor.name + " denied request " + id);
    a.fields["REASON"] = reason;
    if (auto s = commit_transition(r, *next, {a}); !s)
        return call.refuse(commit_error(s.error()));
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::cancel_request(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "CancelRequest");
    const std::string id = call.args.str("id", MAX_ARG);
    if (!call.admit(validate_request_id(id), Operation::Cancel, &id))
        return call.reply();
    const Actor& actor = call.actor();
    const Request& r = call.request();
    auto next = approval::cancel_request(r, actor, clock_.now());
    if (!next)
        return call.refuse(next.error());
    auto a = audit_for(AuditEvent::RequestCancelled, actor.name, *next, actor.name + " cancelled request " + id);
    if (auto s = commit_transition(r, *next, {a}); !s)
        return call.refuse(commit_error(s.error()));
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::get_request(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "GetRequest");
    const std::string id = call.args.str("id", MAX_ARG);
    if (!call.admit(validate_request_id(id), Operation::Read, &id))
        return call.reply();
    if (auto s = authorize_read(call.request(), call.actor()); !s)
        return call.refuse(s.error());
    return reply_string(m, request_to_json(call.request(), clock_.now()).dump());
}

int ApprovalService::list_requests(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "ListRequests");
    const std::string state = call.args.str("state", MAX_ARG);
    if (!call.admit(validate_state_filter(state), Operation::Read))
        return call.reply();
    const Actor& actor = call.actor();
    // No sweep, as ListRequestsPage: effective_state shows a request past its
    // deadline as expired, and the timer stores it so.
    auto all = store_->list(std::nullopt);
    if (!all)
        return call.refuse(make_error(Errc::Internal, all.error().message));
    const usec_t now = clock_.now();
    std::vector<Request> shown;
    for (auto& r : *all)
        if (may_read(r, actor) && (state.empty() || state == state_name(effective_state(r, now))))
            shown.push_back(std::move(r));
    // Newest first (the store's order), cut to one bus message.
    size_t left_out = 0;
    std::string reply = requests_to_json(shown, now, bus::MAX_LIST_REPLY, &left_out);
    if (left_out > 0)
        log_warning("ListRequests by {}: {} older requests did not fit one reply (ListRequestsPage has them)",
                    actor.name, left_out);
    return reply_string(m, reply);
}

// ListRequests in pages (docs/bus-api.md "Paging"): the same requests, in the
// same order, to the same readers. The store is asked for slices after the
// cursor, narrowed to what could match (stored states, the engineer's own);
// may_read and the effective state then decide each row exactly as
// ListRequests does. The next cursor names the last request the page holds,
// never one the caller could not read: a filter that drops rows makes a page
// hold fewer, never reveal more.
int ApprovalService::list_requests_page(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "ListRequestsPage");
    const std::string state = call.args.str("state", MAX_ARG);
    const std::string cursor = call.args.str("cursor", MAX_ARG);
    const uint32_t asked = call.args.u32("limit");
    auto after = parse_list_cursor(cursor);
    auto limit = page_limit(asked);
    if (!call.admit(first_refusal({validate_state_filter(state), after ? Status{} : Status{after.error()},
                                   limit ? Status{} : Status{limit.error()}}),
                    Operation::Read))
        return call.reply();
    const Actor& actor = call.actor();
    // No sweep here: effective_state shows a request past its deadline as
    // expired already, and a sweep would read the whole store (etcd) per page.
    const usec_t now = clock_.now();
    const std::optional<RequestState> shown = parse_state(state);  // nullopt for "" (all)
    ListSlice slice;
    slice.after = *after;
    slice.involving = readable_involving(actor);
    if (shown)
        slice.stored_states = stored_states_shown_as(*shown);
    // One more than the page holds, so that it knows whether more remain; at
    // least a few hundred, so that a sparse filter takes few round trips.
    slice.limit = std::max<size_t>(*limit + 1, 256);
    ListPage page(*limit, bus::MAX_LIST_REPLY);
    while (!page.full()) {
        auto rows = store_->list_slice(slice);
        if (!rows)
            return call.refuse(make_error(Errc::Internal, rows.error().message));
        for (const auto& r : *rows) {
            if (may_read(r, actor) && (!shown || effective_state(r, now) == *shown) &&
                !page.add({r.created_at, r.id}, request_to_json(r, now).dump()))
                break;
        }
        if (rows->size() < slice.limit)
            break;
        slice.after = ListPosition{rows->back().created_at, rows->back().id};
    }
    if (page.full() && page.count() == 0)
        return call.refuse(make_error(Errc::Internal, "a request does not fit one bus reply"));
    return sd_bus_reply_method_return(m, "ss", page.json_array().c_str(), page.next_cursor().c_str());
}

int ApprovalService::revoke_grant(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "RevokeGrant");
    const std::string id = call.args.str("id", MAX_ARG);
    const std::string reason = call.args.str("reason", MAX_ARG);
    if (!call.admit(first_refusal({validate_request_id(id), validate_text("reason", reason, MAX_REASON, true)}),
                    Operation::Revoke, &id))
        return call.reply();
    const Actor& actor = call.actor();
    const Request& r = call.request();
    auto next = approval::revoke_grant(r, actor, reason, policy_, clock_.now());
    if (!next)
        return call.refuse(next.error());
    auto a = audit_for(AuditEvent::GrantRevoked, actor.name, *next, actor.name + " revoked grant " + id);
    a.fields["REASON"] = reason;
    if (auto s = commit_ending(r, *next, {a}); !s)
        return call.refuse(commit_error(s.error()));
    emit("GrantRevoked", id);
    return sd_bus_reply_method_return(m, "");
}

// The same end as a revocation (state, GrantRevoked signal, the kill on every
// host), but its own audit event: an auditor tells "I'm done" from a withdrawal.
int ApprovalService::release_grant(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "ReleaseGrant");
    const std::string id = call.args.str("id", MAX_ARG);
    if (!call.admit(validate_request_id(id), Operation::Release, &id))
        return call.reply();
    const Actor& actor = call.actor();
    const Request& r = call.request();
    auto next = approval::release_grant(r, actor, policy_, clock_.now());
    if (!next)
        return call.refuse(next.error());
    auto a = audit_for(AuditEvent::GrantReleased, actor.name, *next, actor.name + " released grant " + id);
    a.fields["REASON"] = next->close_reason;
    if (auto s = commit_ending(r, *next, {a}); !s)
        return call.refuse(commit_error(s.error()));
    emit("GrantRevoked", id);
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::export_grant(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "ExportGrant");
    const std::string id = call.args.str("id", MAX_ARG);
    if (!call.admit(validate_request_id(id), Operation::Export, &id))
        return call.reply();
    auto token = approval::export_grant(call.request(), call.actor(), clock_.now());
    if (!token)
        return call.refuse(token.error());
    return reply_string(m, *token);
}

int ApprovalService::get_host_grants(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "GetHostGrants");
    const std::string tenant = call.args.str("tenant", MAX_ARG);
    const std::string host = call.args.str("host", MAX_ARG);
    Status valid;
    if (!is_valid_tenant_name(tenant) || !is_valid_host_name(host))
        valid = make_error(Errc::InvalidArgument, "tenant/host: expected a tenant and a host name");
    if (!call.admit(valid, Operation::HostGrants))
        return call.reply();
    HostGrants answer;
    if (fleet_host_) {
        answer = fleet_host_->host_grants(tenant, host);
    } else {
        // This host's groups come from its own lockbox.conf, which lockboxd reads too.
        std::vector<std::string> targets{host};
        if (host == config_.host_name)
            for (const auto& g : config_.host_groups)
                targets.push_back("@" + g);
        auto grants = store_->grants_for_host(tenant, targets);
        if (!grants)
            return call.refuse(make_error(Errc::Internal, grants.error().message));
        const usec_t now = clock_.now();
        for (const auto& g : *grants) {
            const auto state = effective_state(g, now);
            if (state == RequestState::Approved || state == RequestState::Active)
                answer.grants.emplace_back(g.id, g.token);
            else if (is_ended_early(g.state) && g.exp > now)
                answer.ended.push_back({g.id, state_name(g.state), g.closed_by});
        }
    }
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    BusMessagePtr reply(raw);
    if (r >= 0)
        r = sd_bus_message_open_container(reply.get(), 'a', "(ss)");
    for (const auto& [id, token] : answer.grants)
        if (r >= 0)
            r = sd_bus_message_append(reply.get(), "(ss)", id.c_str(), token.c_str());
    if (r >= 0)
        r = sd_bus_message_close_container(reply.get());
    // Grants ended early, with how and by whom: lockboxd's audit and the last
    // line on the engineer's terminals say it.
    if (r >= 0)
        r = sd_bus_message_open_container(reply.get(), 'a', "(sss)");
    for (const auto& g : answer.ended)
        if (r >= 0)
            r = sd_bus_message_append(reply.get(), "(sss)", g.id.c_str(), g.how.c_str(), g.by.c_str());
    if (r >= 0)
        r = sd_bus_message_close_container(reply.get());
    if (r < 0)
        return call.refuse(make_error(Errc::Internal, std::string("cannot build the reply: ") + std::strerror(-r)));
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

// No role gate: a person may always learn their own roles (the console offers
// only the actions they allow), and the answer tells nothing about anyone else.
// Read-only and about the caller alone, so nothing is audited.
int ApprovalService::get_caller_roles(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "GetCallerRoles");
    if (!call.admit(Status{}, std::nullopt))
        return call.reply();
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    BusMessagePtr reply(raw);
    if (r >= 0)
        r = sd_bus_message_append(reply.get(), "s", call.actor().name.c_str());
    r = append_strings(reply.get(), role_names(call.actor()), r);
    if (r < 0)
        return call.refuse(make_error(Errc::Internal, std::string("cannot build the reply: ") + std::strerror(-r)));
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

// [Access] Levels=, least privileged first: the console offers an approver the
// levels below the one asked for. Policy, not data: everyone may read it, as
// everyone may read lockbox.conf; nothing is audited.
int ApprovalService::get_access_levels(sd_bus_message* m, sd_bus_error* e) {
    Call call(*this, m, e, "GetAccessLevels");
    if (!call.admit(Status{}, std::nullopt))
        return call.reply();
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    BusMessagePtr reply(raw);
    r = append_strings(reply.get(), policy_.access_levels, r);
    if (r < 0)
        return call.refuse(make_error(Errc::Internal, std::string("cannot build the reply: ") + std::strerror(-r)));
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

}  // namespace lockbox::approval
