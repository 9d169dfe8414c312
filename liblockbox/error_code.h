// The one error vocabulary of Lockbox. Every Error carries an Errc; callers
// branch on it, never on text. Each code has a stable name (audit records'
// LOCKBOX_REFUSAL and LOCKBOX_REASON, pam_lockbox's log lines) and the D-Bus
// error a daemon answers with when the error ends a call. docs/bus-api.md
// ("Error codes") gives every code's meaning; test_error_code keeps it complete.
//
// Header-only on purpose: the unit tests link single objects of liblockbox, and
// the PAM module must not grow a dependency for a lookup table.
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

#include "bus_api.h"

namespace lockbox {

enum class Errc {
    InvalidArgument,     // an argument, option or name given by the caller is not valid
    BadConfig,           // the configuration (file, [Notify] Command, PAM module arguments) is not valid
    Malformed,           // data read from outside (token, key, reply, stored record) is not well-formed
    BadSignature,        // a signature does not verify
    NotFound,            // no such object, file or entry
    Conflict,            // it exists already, or changed between read and write
    InvalidState,        // the object is not in a state that allows the operation
    AccessDenied,        // the caller lacks the role or the right
    SeparationOfDuties,  // the caller may not take both parts of one approval
    GrantRefused,        // a grant token is refused for good (the message names the verdict)
    GrantDeferred,       // a grant token is refused for now: a lookup it needs could not answer
    NameConflict,        // another NSS source knows the engineer's name or uid
    NssLookupFailed,     // a user or group database could not be asked or did not answer
    UidRangeExhausted,   // every uid of the engineer range is taken
    UnsafeFile,          // a file or directory's owner, mode or type would let others replace it
    IoError,             // the kernel refused a file or directory operation
    StoreError,          // the SQLite store refused an operation
    StoreDamaged,        // the store's content is not what this release wrote
    StoreTooNew,         // the store was written by a later release
    ProcessFailed,       // a child process could not be started, watched or ended, or it failed
    Timeout,             // a peer or a child did not finish in time
    Unavailable,         // a service the operation needs (bus, lockboxd) is not reachable
    JournalUnavailable,  // journald did not take or give audit records
    Refused,             // a bus peer or a safety rule refused the operation
    Internal,            // the program's own machinery failed; its log says more
};

struct ErrcInfo {
    const char* name;      // stable: audit records and log lines carry it
    const char* bus_name;  // the D-Bus error a daemon replies with
};

// A switch without default: a new code that is not named here fails the build.
constexpr ErrcInfo errc_info(Errc c) {
    switch (c) {
    case Errc::InvalidArgument:
        return {"invalid-argument", bus::ERROR_INVALID_ARGUMENT};
    case Errc::BadConfig:
        return {"bad-config", bus::ERROR_INTERNAL};
    case Errc::Malformed:
        return {"malformed", bus::ERROR_INTERNAL};
    case Errc::BadSignature:
        return {"bad-signature", bus::ERROR_INTERNAL};
    case Errc::NotFound:
        return {"not-found", bus::ERROR_NOT_FOUND};
    case Errc::Conflict:
        return {"conflict", bus::ERROR_INVALID_STATE};
    case Errc::InvalidState:
        return {"invalid-state", bus::ERROR_INVALID_STATE};
    case Errc::AccessDenied:
        return {"access-denied", bus::ERROR_ACCESS_DENIED};
    case Errc::SeparationOfDuties:
        return {"separation-of-duties", bus::ERROR_SEPARATION_OF_DUTIES};
    case Errc::GrantRefused:
        return {"grant-refused", bus::ERROR_GRANT_REFUSED};
    case Errc::GrantDeferred:
        return {"grant-deferred", bus::ERROR_GRANT_REFUSED};
    case Errc::NameConflict:
        return {"name-conflict", bus::ERROR_INTERNAL};
    case Errc::NssLookupFailed:
        return {"nss-lookup-failed", bus::ERROR_INTERNAL};
    case Errc::UidRangeExhausted:
        return {"uid-range-exhausted", bus::ERROR_INTERNAL};
    case Errc::UnsafeFile:
        return {"unsafe-file", bus::ERROR_INTERNAL};
    case Errc::IoError:
        return {"io-error", bus::ERROR_INTERNAL};
    case Errc::StoreError:
        return {"store-error", bus::ERROR_INTERNAL};
    case Errc::StoreDamaged:
        return {"store-damaged", bus::ERROR_INTERNAL};
    case Errc::StoreTooNew:
        return {"store-too-new", bus::ERROR_INTERNAL};
    case Errc::ProcessFailed:
        return {"process-failed", bus::ERROR_INTERNAL};
    case Errc::Timeout:
        return {"timeout", bus::ERROR_INTERNAL};
    case Errc::Unavailable:
        return {"unavailable", bus::ERROR_INTERNAL};
    case Errc::JournalUnavailable:
        return {"journal-unavailable", bus::ERROR_INTERNAL};
    case Errc::Refused:
        return {"refused", bus::ERROR_INTERNAL};
    case Errc::Internal:
        return {"internal", bus::ERROR_INTERNAL};
    }
    return {"internal", bus::ERROR_INTERNAL};  // not an Errc at all: treat as a bug
}

constexpr const char* errc_name(Errc c) { return errc_info(c).name; }
constexpr const char* bus_error_name(Errc c) { return errc_info(c).bus_name; }

// Internal errors reach the caller without detail worth acting on: the daemon
// logs them, where a refusal the caller caused is audited instead.
constexpr bool is_internal(Errc c) { return std::string_view(bus_error_name(c)) == bus::ERROR_INTERNAL; }

// Every code, for the test that keeps docs/bus-api.md complete.
inline constexpr Errc ALL_ERRCS[] = {
    Errc::InvalidArgument, Errc::BadConfig,          Errc::Malformed,
    Errc::BadSignature,    Errc::NotFound,           Errc::Conflict,
    Errc::InvalidState,    Errc::AccessDenied,       Errc::SeparationOfDuties,
    Errc::GrantRefused,    Errc::GrantDeferred,      Errc::NameConflict,
    Errc::NssLookupFailed, Errc::UidRangeExhausted,  Errc::UnsafeFile,
    Errc::IoError,         Errc::StoreError,         Errc::StoreDamaged,
    Errc::StoreTooNew,     Errc::ProcessFailed,      Errc::Timeout,
    Errc::Unavailable,     Errc::JournalUnavailable, Errc::Refused,
    Errc::Internal,
};
static_assert(std::size(ALL_ERRCS) == static_cast<std::size_t>(Errc::Internal) + 1,
              "ALL_ERRCS lists every Errc once (Internal stays last)");

}  // namespace lockbox
