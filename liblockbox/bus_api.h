// The D-Bus contract between lockboxctl, lockbox-approvald, lockboxd and
// pam_lockbox. docs/bus-api.md and systemd/org.lockbox.*.xml describe the same
// methods; a test checks the registered vtables against the XML.
#pragma once

namespace lockbox::bus {

inline constexpr const char* APPROVAL_NAME = "org.lockbox.Approval1";
inline constexpr const char* APPROVAL_PATH = "/org/lockbox/Approval1";
inline constexpr const char* APPROVAL_IFACE = "org.lockbox.Approval1";

// User= of lockbox-approvald.service (systemd/lockbox.sysusers); the bus policy
// lets only it own APPROVAL_NAME, and its audit entries carry its uid.
inline constexpr const char* APPROVAL_SERVICE_USER = "lockbox-approval";

inline constexpr const char* ENFORCER_NAME = "org.lockbox.Enforcer1";
inline constexpr const char* ENFORCER_PATH = "/org/lockbox/Enforcer1";
inline constexpr const char* ENFORCER_IFACE = "org.lockbox.Enforcer1";

// Named errors. Refusals for a missing role use the standard
// org.freedesktop.DBus.Error.AccessDenied so every D-Bus tool understands them.
inline constexpr const char* ERROR_NOT_FOUND = "org.lockbox.Error.NotFound";
inline constexpr const char* ERROR_INVALID_STATE = "org.lockbox.Error.InvalidState";
inline constexpr const char* ERROR_INVALID_ARGUMENT = "org.lockbox.Error.InvalidArgument";
inline constexpr const char* ERROR_SEPARATION_OF_DUTIES = "org.lockbox.Error.SeparationOfDuties";
inline constexpr const char* ERROR_GRANT_REFUSED = "org.lockbox.Error.GrantRefused";
inline constexpr const char* ERROR_INTERNAL = "org.lockbox.Error.Internal";
inline constexpr const char* ERROR_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";

// Upper bound for any string argument on either service; longer is refused
// before parsing.
inline constexpr unsigned long MAX_STRING_ARG = 16384;
// A list reply (ListGrants, ListRequests, and each page of ListGrantsPage and
// ListRequestsPage) holds what fits this many bytes, newest first:
// dbus-daemon refuses messages over 32 MiB and disconnects the sender, which
// would take the daemon off the bus.
inline constexpr unsigned long MAX_LIST_REPLY = 8ul << 20;
inline constexpr unsigned long MAX_TOKEN = 65536;

// Environment variable the tests use to point every client at a private bus
// instead of the system bus (read with secure_getenv only).
inline constexpr const char* BUS_ADDRESS_ENV = "DBUS_SYSTEM_BUS_ADDRESS";

}  // namespace lockbox::bus
