#include "notification_message.h"

#include <ctime>

#include "time_format.h"

namespace lockbox::approval {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty())
            out += sep;
        out += s;
    }
    return out;
}

// "admin", or "dbadmin (requested admin)" once an approver lowered it.
std::string access_text(const Request& r) {
    if (r.requested_access.empty() || r.requested_access == r.access)
        return r.access;
    return r.access + " (requested " + r.requested_access + ")";
}

std::string details(const Request& r) {
    std::string b;
    b += "Request:   " + r.id + "\n";
    b += "Tenant:    " + r.tenant + "\n";
    b += "Ticket:    " + r.ticket + "\n";
    b += "Engineer:  " + r.engineer + "\n";
    // What the engineer may do is the decision's core: right under who.
    if (!r.access.empty())
        b += "Access:    " + access_text(r) + "\n";
    b += "Hosts:     " + join(r.hosts, ", ") + "\n";
    b += "Duration:  " + format_duration(r.duration) + "\n";
    if (r.token.empty() && r.nbf != 0)
        b += "Starts:    " + format_rfc3339(r.nbf) + " (a later start; nobody is admitted before)\n";
    b += "Reason:    " + r.reason + "\n";
    b += "Filed by:  " + r.created_by + " at " + format_rfc3339(r.created_at) + "\n";
    if (r.manager)
        b += "Manager:   approved by " + r.manager->approval.user + " at " + format_rfc3339(r.manager->approval.at) +
             "\n";
    return b;
}

}  // namespace

std::optional<MailMessage> approver_mail(const Request& r, const Config& config) {
    if (config.approver_emails.empty())
        return std::nullopt;
    MailMessage m;
    m.kind = "pending-approver";
    m.request_id = r.id;
    m.to = config.approver_emails;
    m.subject = "[Lockbox] " + r.tenant + ": " + (r.access.empty() ? "" : r.access + " ") + "access request " +
                r.ticket + " by " + r.engineer + " awaits your approval";
    m.body =
        "An engineer asks for access to your hosts. A support manager has approved;\n"
        "the access starts only when one of the customer's approvers approves too.\n\n" +
        details(r) + "\nUnanswered, the request expires at " + format_rfc3339(r.pending_until) +
        ".\n\n"
        "To approve (you may shorten the window with --duration, and lower the\n"
        "access level with --access):\n"
        "    lockboxctl request approve " +
        r.id +
        "\n"
        "To deny:\n"
        "    lockboxctl request deny " +
        r.id +
        " --reason TEXT\n"
        "To review:\n"
        "    lockboxctl request show " +
        r.id + "\n";
    return m;
}

std::optional<MailMessage> engineer_mail(const Request& r, const Config& config) {
    if (config.mail_domain.empty())
        return std::nullopt;
    MailMessage m;
    m.request_id = r.id;
    m.to = {r.engineer + "@" + config.mail_domain};
    std::string outcome;
    switch (r.state) {
    case RequestState::Approved:
        m.kind = "approved";
        outcome =
            "was approved. Access is valid from " + format_rfc3339(r.nbf) + " until " + format_rfc3339(r.exp) + ".";
        break;
    case RequestState::Denied:
        m.kind = "denied";
        outcome = "was denied by " + r.closed_by + ": " + r.close_reason;
        break;
    case RequestState::Expired:
        m.kind = "expired";
        outcome = "expired: nobody finished approving it before " + format_rfc3339(r.pending_until) +
                  ". No access was granted.";
        break;
    default:
        return std::nullopt;
    }
    m.subject = "[Lockbox] " + r.tenant + ": your access request " + r.ticket + " " + m.kind;
    m.body = "Your access request " + outcome + "\n\n" + details(r);
    if (r.approver)
        m.body += "Approver:  " + r.approver->approval.user + " at " + format_rfc3339(r.approver->approval.at) + "\n";
    return m;
}

std::string render_mail(const MailMessage& m, usec_t now) {
    char date[64] = "";
    const time_t t = static_cast<time_t>(now / USEC_PER_SEC);
    struct tm tm {};
    if (gmtime_r(&t, &tm))
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    std::string out;
    out += "To: " + join(m.to, ", ") + "\n";
    out += "Subject: " + m.subject + "\n";
    out += std::string("Date: ") + date + "\n";
    out += "Auto-Submitted: auto-generated\n";
    out += "MIME-Version: 1.0\n";
    out += "Content-Type: text/plain; charset=UTF-8\n";
    out += "Content-Transfer-Encoding: 8bit\n";
    out += "X-Lockbox-Request: " + m.request_id + "\n";
    out += "\n";
    out += m.body;
    return out;
}

}  // namespace lockbox::approval
