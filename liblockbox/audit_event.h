// Every audit event Lockbox writes to journald, with its fixed MESSAGE_ID
// (generated once with systemd-id128 new; never change one). systemd/lockbox.catalog
// explains each id; tests/system/test_catalog.py keeps the two in step.
#pragma once

#include <array>
#include <string_view>

namespace lockbox {

enum class AuditEvent {
    RequestCreated,
    ManagerApproved,
    ApproverApproved,
    RequestDenied,
    RequestCancelled,
    RequestExpired,
    CallRefused,
    NotificationSent,
    NotificationFailed,
    GrantIssued,
    GrantInstalled,
    GrantRefused,
    GrantActivated,
    GrantRevoked,
    GrantCompleted,
    AccessAllowed,
    AccessDenied,
    SessionOpened,
    SessionClosed,
    SessionKilled,
    CallsRefusedSummary,
    StateDamaged,
    BusSignalForged,
    GrantUntrusted,
    TrustedKeysChanged,
    NameConflict,
    NssCacheFailed,
    GrantReleased,
    RequestsPruned
};

struct AuditEventInfo {
    AuditEvent event;
    std::string_view name;        // LOCKBOX_EVENT value (docs/design.md §7)
    std::string_view message_id;  // 128-bit id, 32 lowercase hex digits
};

inline constexpr std::array<AuditEventInfo, 29> AUDIT_EVENTS = {{
    {AuditEvent::RequestCreated, "request-created", "b2f58da5f91849bbbff99322e4adf1f1"},
    {AuditEvent::ManagerApproved, "manager-approved", "348a6816898f495387e333f76caad4c6"},
    {AuditEvent::ApproverApproved, "approver-approved", "1d449b36ec414777b34524039f520f9b"},
    {AuditEvent::RequestDenied, "request-denied", "7f0d6004e80b47e68f0fea9dad098b18"},
    {AuditEvent::RequestCancelled, "request-cancelled", "739cea36464640bca836d7952aa68d1b"},
    {AuditEvent::RequestExpired, "request-expired", "5c5ee4772c8d4cefbb7eb3f6cf4a315e"},
    {AuditEvent::CallRefused, "call-refused", "5dd378befa4c49a381ec4117ef236175"},
    {AuditEvent::NotificationSent, "notification-sent", "1236bdc1db8b4bb391fed69ad8c8d485"},
    {AuditEvent::NotificationFailed, "notification-failed", "eb1904dcdd484e64bfbc5aece94255a1"},
    {AuditEvent::GrantIssued, "grant-issued", "ce3b4241d49549d28f1e9632a9c86681"},
    {AuditEvent::GrantInstalled, "grant-installed", "995bcab9a63b42e7b0bc22b84b2b657e"},
    {AuditEvent::GrantRefused, "grant-refused", "39716d76c3a4436993569b3cd56a776e"},
    {AuditEvent::GrantActivated, "grant-activated", "bbd42d10b7d74d5f995802aa0cb518ed"},
    {AuditEvent::GrantRevoked, "grant-revoked", "1da455fac86a4c69961bb8ea8ceef722"},
    {AuditEvent::GrantCompleted, "grant-completed", "bfea40aa51944702891ff1967dd5eecc"},
    {AuditEvent::AccessAllowed, "access-allowed", "74861e13952c4433b2fc7dbdc24a9f5f"},
    {AuditEvent::AccessDenied, "access-denied", "5a1b27e540124f43bc7a62d30ce3e183"},
    {AuditEvent::SessionOpened, "session-opened", "add16c9f47a0469b8f1492d65529c726"},
    {AuditEvent::SessionClosed, "session-closed", "a430774f20564efba6c468e67bb57e12"},
    {AuditEvent::SessionKilled, "session-killed", "a1de6ee826174896a37a26572820c9b4"},
    {AuditEvent::CallsRefusedSummary, "calls-refused-summary", "9ac8992edcb7494c8c8026924d9ca4bc"},
    {AuditEvent::StateDamaged, "state-damaged", "6a30468f8fc241d3b4b5e3f669a8f3b6"},
    {AuditEvent::BusSignalForged, "bus-signal-forged", "ad01b0864ea74e75934e3e71fe26c58c"},
    {AuditEvent::GrantUntrusted, "grant-untrusted", "834229a5de3d4cd1925cee862b2e3817"},
    {AuditEvent::TrustedKeysChanged, "trusted-keys-changed", "4995929796454b07b68178ea48d4fc7f"},
    {AuditEvent::NameConflict, "name-conflict", "e0b7c75199bd442ea36d40dbabd31665"},
    {AuditEvent::NssCacheFailed, "nss-cache-failed", "6080a6e7c15f47f8b214d9424f7ffa54"},
    {AuditEvent::GrantReleased, "grant-released", "2b4467dd50624f4797392e5ecaab159b"},
    {AuditEvent::RequestsPruned, "requests-pruned", "346f290cf7e1490db01ff1217c96f818"},
}};

constexpr const AuditEventInfo& audit_event_info(AuditEvent e) { return AUDIT_EVENTS[static_cast<size_t>(e)]; }

}  // namespace lockbox
