// The org.lockbox.Approval1 method handlers (see approval_service.h for the shape).
#include <pwd.h>
#include <cstdio>
#include <cstring>

#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "approval_service.h"
#include "bus_api.h"
#include "bus_args.h"
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

Error access_denied(const std::string& message) { return make_error(Errc::AccessDenied, "access denied: " + message); }

Result<std::string> new_request_id() {
    sd_id128_t id;
    int r = sd_id128_randomize(&id);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot generate a request id: ") + std::strerror(-r));
    char s[SD_ID128_UUID_STRING_MAX];
    return std::string(sd_id128_to_uuid_string(id, s));
}

int reply_string(sd_bus_message* m, const std::string& s) { return sd_bus_reply_method_return(m, "s", s.c_str()); }

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
    if (getpwnam_r(engineer.c_str(), &pw, buf, sizeof buf, &found) == 0 && found &&
        found->pw_uid < FIRST_REGULAR_UID)
        return make_error(Errc::InvalidArgument,
                          "engineer: '" + engineer + "' is a system account; Lockbox never grants access to one");
    return {};
}

}  // namespace

int ApprovalService::create_request(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "CreateRequest";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    NewRequest in;
    in.tenant = args.str("tenant", MAX_ARG);
    in.ticket = args.str("ticket", MAX_ARG);
    in.hosts = args.strv("hosts", MAX_HOSTS, MAX_HOST_NAME);
    in.duration_sec = args.u64("duration_sec");
    in.reason = args.str("reason", MAX_ARG);
    in.ssh_keys = args.strv("ssh_keys", MAX_SSH_KEYS, MAX_SSH_KEY);
    in.engineer = args.str("engineer", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (auto s = validate_new_request(in, config_.tenant, config_.max_grant); !s)
        return refuse(e, METHOD, *actor, s.error());
    auto id = new_request_id();
    if (!id)
        return refuse(e, METHOD, *actor, id.error());
    auto r = approval::create_request(in, *actor, *id, policy_, clock_.now());
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    if (auto s = refuse_system_account(r->engineer); !s)
        return refuse(e, METHOD, *actor, s.error());
    auto a = audit_for(AuditEvent::RequestCreated, actor->name, *r,
                       actor->name + " requested access for " + r->engineer + " to " + r->tenant +
                           " (ticket " + r->ticket + ") for " + format_duration(r->duration));
    a.fields["REASON"] = r->reason;
    a.fields["DURATION"] = std::to_string(r->duration / USEC_PER_SEC);
    std::string hosts;
    for (const auto& h : r->hosts)
        hosts += (hosts.empty() ? "" : " ") + h;
    a.fields["HOSTS"] = hosts;
    if (auto s = store_->insert(*r, {a}); !s)
        return refuse(e, METHOD, *actor, make_error(Errc::Internal, s.error().message));
    forward_outbox();
    arm_expiry_timer();
    emit("RequestChanged", r->id, state_name(r->state));
    return reply_string(m, r->id);
}

int ApprovalService::approve_request(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "ApproveRequest";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    const uint64_t duration = args.u64("duration_sec");
    const std::string comment = args.str("comment", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    Status valid = validate_request_id(id);
    if (valid)
        valid = validate_text("comment", comment, MAX_COMMENT, false);
    if (valid && duration != 0)
        valid = validate_duration(duration, config_.max_grant);
    if (!valid)
        return refuse(e, METHOD, *actor, valid.error());
    if (!(actor->root || actor->manager || actor->approver))
        return refuse(e, METHOD, *actor,
                      access_denied("approving needs the manager role (group " + config_.manager_group +
                                    ") or the approver role (group " + config_.approver_group + ")"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    auto next = approval::approve_request(*r, *actor, duration, comment, policy_, clock_.now());
    if (!next)
        return refuse(e, METHOD, *actor, next.error(), &*r);

    std::vector<AuditEntry> audit;
    const bool final_stage = next->state == RequestState::Approved;
    auto a = audit_for(final_stage ? AuditEvent::ApproverApproved : AuditEvent::ManagerApproved, actor->name,
                       *next,
                       actor->name + " approved request " + id + " as " + (final_stage ? "approver" : "manager"));
    if (!comment.empty())
        a.fields["COMMENT"] = comment;
    a.fields["DURATION"] = std::to_string(next->duration / USEC_PER_SEC);
    audit.push_back(a);
    if (final_stage) {
        auto token = issuer_.issue(*next);
        if (!token)
            return refuse(e, METHOD, *actor, make_error(Errc::Internal, token.error().message), &*r);
        next->token = std::move(*token);
        auto g = audit_for(AuditEvent::GrantIssued, actor->name, *next,
                           "grant " + id + " issued for " + next->engineer + ", valid " +
                               format_rfc3339(next->nbf) + " to " + format_rfc3339(next->exp));
        g.fields["NBF"] = format_rfc3339(next->nbf);
        g.fields["EXP"] = format_rfc3339(next->exp);
        audit.push_back(g);
    }
    if (auto s = commit_transition(*r, *next, audit); !s)
        return refuse(e, METHOD, *actor,
                      commit_error(s.error()), &*r);
    if (final_stage)
        emit("GrantIssued", id);
    return reply_string(m, state_name(next->state));
}

int ApprovalService::deny_request(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "DenyRequest";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    const std::string reason = args.str("reason", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    Status valid = validate_request_id(id);
    if (valid)
        valid = validate_text("reason", reason, MAX_REASON, true);
    if (!valid)
        return refuse(e, METHOD, *actor, valid.error());
    if (!(actor->root || actor->manager || actor->approver))
        return refuse(e, METHOD, *actor,
                      access_denied("denying needs the manager role (group " + config_.manager_group +
                                    ") or the approver role (group " + config_.approver_group + ")"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    auto next = approval::deny_request(*r, *actor, reason, policy_, clock_.now());
    if (!next)
        return refuse(e, METHOD, *actor, next.error(), &*r);
    auto a = audit_for(AuditEvent::RequestDenied, actor->name, *next, actor->name + " denied request " + id);
    a.fields["REASON"] = reason;
    if (auto s = commit_transition(*r, *next, {a}); !s)
        return refuse(e, METHOD, *actor,
                      commit_error(s.error()), &*r);
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::cancel_request(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "CancelRequest";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (auto s = validate_request_id(id); !s)
        return refuse(e, METHOD, *actor, s.error());
    if (!actor->may_read())
        return refuse(e, METHOD, *actor,
                      access_denied("cancelling needs the engineer role (group " + config_.engineer_group +
                                    ") or the manager role (group " + config_.manager_group + ")"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    auto next = approval::cancel_request(*r, *actor, clock_.now());
    if (!next)
        return refuse(e, METHOD, *actor, next.error(), &*r);
    auto a = audit_for(AuditEvent::RequestCancelled, actor->name, *next,
                       actor->name + " cancelled request " + id);
    if (auto s = commit_transition(*r, *next, {a}); !s)
        return refuse(e, METHOD, *actor,
                      commit_error(s.error()), &*r);
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::get_request(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "GetRequest";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (auto s = validate_request_id(id); !s)
        return refuse(e, METHOD, *actor, s.error());
    if (!actor->may_read())
        return refuse(e, METHOD, *actor,
                      access_denied("reading requests needs the engineer, manager or approver role"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    if (!may_read(*r, *actor))
        return refuse(e, METHOD, *actor,
                      access_denied("engineers may read only their own requests"), &*r);
    return reply_string(m, request_to_json(*r, clock_.now()).dump());
}

int ApprovalService::list_requests(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "ListRequests";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string state = args.str("state", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (auto s = validate_state_filter(state); !s)
        return refuse(e, METHOD, *actor, s.error());
    if (!actor->may_read())
        return refuse(e, METHOD, *actor,
                      access_denied("reading requests needs the engineer, manager or approver role"));
    sweep_expired();
    auto all = store_->list(std::nullopt);
    if (!all)
        return refuse(e, METHOD, *actor, make_error(Errc::Internal, all.error().message));
    const usec_t now = clock_.now();
    std::vector<Request> shown;
    for (auto& r : *all)
        if (may_read(r, *actor) && (state.empty() || state == state_name(effective_state(r, now))))
            shown.push_back(std::move(r));
    // Newest first (the store's order), cut to one bus message.
    size_t left_out = 0;
    std::string reply = requests_to_json(shown, now, bus::MAX_LIST_REPLY, &left_out);
    if (left_out > 0)
        std::fprintf(stderr, SD_WARNING "ListRequests by %s: %zu older requests did not fit one reply\n",
                     actor->name.c_str(), left_out);
    return reply_string(m, reply);
}

int ApprovalService::revoke_grant(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "RevokeGrant";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    const std::string reason = args.str("reason", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    Status valid = validate_request_id(id);
    if (valid)
        valid = validate_text("reason", reason, MAX_REASON, true);
    if (!valid)
        return refuse(e, METHOD, *actor, valid.error());
    if (!(actor->root || actor->approver))
        return refuse(e, METHOD, *actor,
                      access_denied("revoking a grant needs the approver role (group " +
                                    config_.approver_group + ")"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    auto next = approval::revoke_grant(*r, *actor, reason, policy_, clock_.now());
    if (!next)
        return refuse(e, METHOD, *actor, next.error(), &*r);
    auto a = audit_for(AuditEvent::GrantRevoked, actor->name, *next, actor->name + " revoked grant " + id);
    a.fields["REASON"] = reason;
    if (auto s = commit_transition(*r, *next, {a}); !s)
        return refuse(e, METHOD, *actor,
                      commit_error(s.error()), &*r);
    emit("GrantRevoked", id);
    return sd_bus_reply_method_return(m, "");
}

int ApprovalService::export_grant(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "ExportGrant";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string id = args.str("id", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (auto s = validate_request_id(id); !s)
        return refuse(e, METHOD, *actor, s.error());
    if (!actor->may_read())
        return refuse(e, METHOD, *actor,
                      access_denied("exporting grants needs the engineer, manager or approver role"));
    auto r = load(id);
    if (!r)
        return refuse(e, METHOD, *actor, r.error());
    if (!may_export(*r, *actor))
        return refuse(e, METHOD, *actor,
                      access_denied("engineers may export only their own grants"), &*r);
    const auto state = effective_state(*r, clock_.now());
    if (r->token.empty() || (state != RequestState::Approved && state != RequestState::Active))
        return refuse(e, METHOD, *actor,
                      make_error(Errc::InvalidState,
                                 "request " + id + " is " + state_name(state) + "; there is no valid grant to export"),
                      &*r);
    return reply_string(m, r->token);
}

int ApprovalService::get_host_grants(sd_bus_message* m, sd_bus_error* e) {
    static const char* METHOD = "GetHostGrants";
    auto actor = caller(m);
    if (!actor)
        return refuse(e, METHOD, unknown_caller(), actor.error());
    ArgReader args(m);
    const std::string tenant = args.str("tenant", MAX_ARG);
    const std::string host = args.str("host", MAX_ARG);
    if (!args.ok())
        return refuse(e, METHOD, *actor, args.error());
    if (!is_valid_tenant_name(tenant) || !is_valid_host_name(host))
        return refuse(e, METHOD, *actor,
                      make_error(Errc::InvalidArgument, "tenant/host: expected a tenant and a host name"));
    if (!actor->root)
        return refuse(e, METHOD, *actor, access_denied("GetHostGrants is for root (lockboxd) only"));
    auto grants = store_->grants_for_host(tenant, host);
    if (!grants)
        return refuse(e, METHOD, *actor, make_error(Errc::Internal, grants.error().message));
    const usec_t now = clock_.now();
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    BusMessagePtr reply(raw);
    if (r >= 0)
        r = sd_bus_message_open_container(reply.get(), 'a', "(ss)");
    for (const auto& g : *grants) {
        const auto state = effective_state(g, now);
        if (r >= 0 && (state == RequestState::Approved || state == RequestState::Active))
            r = sd_bus_message_append(reply.get(), "(ss)", g.id.c_str(), g.token.c_str());
    }
    if (r >= 0)
        r = sd_bus_message_close_container(reply.get());
    if (r >= 0)
        r = sd_bus_message_open_container(reply.get(), 'a', "s");
    for (const auto& g : *grants)
        if (r >= 0 && g.state == RequestState::Revoked && g.exp > now)
            r = sd_bus_message_append_basic(reply.get(), 's', g.id.c_str());
    if (r >= 0)
        r = sd_bus_message_close_container(reply.get());
    if (r < 0)
        return refuse(e, METHOD, *actor,
                      make_error(Errc::Internal, std::string("cannot build the reply: ") + std::strerror(-r)));
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

}  // namespace lockbox::approval
