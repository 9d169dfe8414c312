#include "audit.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <systemd/sd-journal.h>

namespace lockbox {
namespace {

// journald accepts field names of up to 64 characters; keep room for the prefix.
constexpr size_t MAX_FIELD_NAME = 64;
// A value this large is a bug upstream; cut it rather than lose the record.
constexpr size_t MAX_FIELD_VALUE = 64 * 1024;
constexpr std::string_view PREFIX = "LOCKBOX_";
constexpr const char* JOURNAL_SOCKET = "/run/systemd/journal/socket";

struct Identity {
    std::string syslog_identifier;
    std::string host_name;
};

Identity& identity() {
    static Identity id = [] {
        Identity i;
        i.syslog_identifier = program_invocation_short_name ? program_invocation_short_name : "lockbox";
        char buf[HOST_NAME_MAX + 1] = {};
        if (gethostname(buf, sizeof buf - 1) == 0)
            i.host_name = buf;
        return i;
    }();
    return id;
}

// journald field names are [A-Z0-9_], not starting with '_' (trusted fields)
// or a digit; the prefix takes care of both.
std::string field_name(std::string_view name) {
    std::string out;
    for (char c : name) {
        if (c >= 'a' && c <= 'z')
            out += static_cast<char>(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            out += c;
        else
            out += '_';
    }
    if (!out.starts_with(PREFIX))
        out.insert(0, PREFIX);
    if (out.size() > MAX_FIELD_NAME)
        out.resize(MAX_FIELD_NAME);
    return out;
}

std::string bounded(std::string value) {
    if (value.size() > MAX_FIELD_VALUE)
        value.resize(MAX_FIELD_VALUE);
    return value;
}

}  // namespace

AuditRecord::AuditRecord(AuditEvent event, std::string actor) : event_(event), actor_(bounded(std::move(actor))) {}

AuditRecord& AuditRecord::message(std::string text) {
    message_ = bounded(std::move(text));
    return *this;
}

AuditRecord& AuditRecord::request(const std::string& id, const std::string& tenant, const std::string& ticket,
                                  const std::string& engineer) {
    field("REQUEST_ID", id);
    field("TENANT", tenant);
    field("TICKET", ticket);
    field("ENGINEER", engineer);
    return *this;
}

AuditRecord& AuditRecord::field(const std::string& name, std::string value) {
    std::string full = field_name(name);
    value = bounded(std::move(value));
    // Setting a field twice replaces it: one value per field keeps the readers
    // (lockboxctl audit, journalctl -o json) simple.
    auto it = std::find_if(extra_.begin(), extra_.end(), [&](const auto& kv) { return kv.first == full; });
    if (it != extra_.end())
        it->second = std::move(value);
    else
        extra_.emplace_back(std::move(full), std::move(value));
    return *this;
}

AuditRecord& AuditRecord::priority(int syslog_priority) {
    priority_ = std::clamp(syslog_priority, 0, 7);
    return *this;
}

std::vector<std::string> AuditRecord::fields() const {
    const auto& info = audit_event_info(event_);
    const Identity& id = identity();
    std::string msg = message_;
    if (msg.empty())
        msg = "lockbox " + std::string(info.name) + " by " + actor_;
    std::vector<std::string> out;
    out.reserve(7 + extra_.size());
    out.push_back("MESSAGE_ID=" + std::string(info.message_id));
    out.push_back("MESSAGE=" + msg);
    out.push_back("PRIORITY=" + std::to_string(priority_));
    out.push_back("SYSLOG_IDENTIFIER=" + id.syslog_identifier);
    out.push_back("LOCKBOX_EVENT=" + std::string(info.name));
    out.push_back("LOCKBOX_ACTOR=" + actor_);
    out.push_back("LOCKBOX_HOST=" + id.host_name);
    for (const auto& [name, value] : extra_) {
        // The fixed fields above are set from the record itself, never overridden.
        if (name == "LOCKBOX_EVENT" || name == "LOCKBOX_ACTOR" || name == "LOCKBOX_HOST")
            continue;
        out.push_back(name + "=" + value);
    }
    return out;
}

Status AuditRecord::send() const {
    // sd_journal_sendv takes each field as one iovec, so values may contain
    // newlines or '%' without any format-string interpretation.
    // sd_journal_sendv reports success when journald's socket does not exist
    // ("fail silently"), which would lose the record: check for it first.
    struct stat st {};
    if (stat(JOURNAL_SOCKET, &st) != 0 || !S_ISSOCK(st.st_mode))
        return make_error(Errc::JournalUnavailable, std::string("cannot write audit record ") +
                                                        std::string(audit_event_info(event_).name) +
                                                        ": journald is not running (no " + JOURNAL_SOCKET + ")");
    auto all = fields();
    std::vector<iovec> iov;
    iov.reserve(all.size());
    for (auto& f : all)
        iov.push_back(iovec{f.data(), f.size()});
    int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (r < 0)
        return make_error(Errc::JournalUnavailable, std::string("cannot write audit record ") +
                                                        std::string(audit_event_info(event_).name) +
                                                        " to journald: " + std::strerror(-r));
    return {};
}

void set_audit_identity(std::string syslog_identifier, std::string host_name) {
    Identity& id = identity();
    id.syslog_identifier = std::move(syslog_identifier);
    id.host_name = std::move(host_name);
}

}  // namespace lockbox
