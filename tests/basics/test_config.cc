// config.h: defaults, every key, every bound, and that each problem names
// file:line, the key, the value and what was expected.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <cmocka.h>
}

#include "config.h"
#include "lockbox_build_config.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

constexpr usec_t S = USEC_PER_SEC;

Config parse_ok(const std::string& text) {
    auto r = parse_config(text, "test.conf");
    if (!r)
        fail_msg("config refused: %s", r.error().message.c_str());
    return std::move(r).value();
}

// Refused, with every needle in the message.
void parse_bad(const std::string& text, const std::vector<std::string>& needles) {
    auto r = parse_config(text, "test.conf");
    if (r)
        fail_msg("config accepted:\n%s", text.c_str());
    assert_errc(r.error().code, lockbox::Errc::BadConfig);
    for (const auto& n : needles)
        if (r.error().message.find(n) == std::string::npos)
            fail_msg("message \"%s\" lacks \"%s\"", r.error().message.c_str(), n.c_str());
}

void test_defaults_come_from_build_config_and_design(void**) {
    Config c = default_config();
    assert_string_equal(c.trusted_dir.c_str(), LOCKBOX_TRUSTED_DIR);
    assert_string_equal(c.signing_key.c_str(), LOCKBOX_SIGNING_KEY);
    assert_string_equal(c.state_dir.c_str(), LOCKBOX_STATE_DIR);
    assert_string_equal(c.runtime_dir.c_str(), (std::string(LOCKBOX_RUNTIME_DIR) + "/lockbox").c_str());
    assert_string_equal(c.home_base.c_str(), (std::string(LOCKBOX_STATE_DIR) + "/home").c_str());
    assert_string_equal(c.nss_cache_path().c_str(), (c.runtime_dir + "/nss.cache").c_str());
    assert_int_equal(c.max_grant, 4 * 3600 * S);
    assert_int_equal(c.pending_timeout, 12 * 3600 * S);
    assert_int_equal(c.clock_skew, 30 * S);
    assert_int_equal(c.uid_min, 2100000000u);
    assert_int_equal(c.uid_max, 2100099999u);
    assert_true(c.record);
    assert_true(c.tenant.empty());
    assert_false(c.host_name.empty());  // gethostname()
    Config e = parse_ok("");
    assert_string_equal(e.home_base.c_str(), c.home_base.c_str());
    assert_true(e.retention == 400ULL * 24 * 3600 * USEC_PER_SEC);  // docs/configuration.md
    assert_string_equal(e.host_name.c_str(), c.host_name.c_str());
}

// The docs/design.md §8 example verbatim, inline comments and all.
const char* DESIGN_DOC_EXAMPLE = R"([Host]
Tenant=contoso                 # required: the tenant this host belongs to
Name=db01                      # this host's name in grants; default: the host name

[Policy]
MaxGrant=4h                    # longest window a request may ask for or a token carry
PendingTimeout=12h             # a request not fully approved by then expires
ClockSkew=30s                  # allowance when checking nbf/exp

[Keys]
TrustedDir=/etc/lockbox/trusted.d
SigningKey=/etc/lockbox/private/signing.secret

[Roles]
EngineerGroup=lockbox-engineers
ManagerGroup=lockbox-managers
ApproverGroup=lockbox-approvers

[Accounts]
UIDMin=2100000000              # range for engineer accounts: above SSSD's default
UIDMax=2100099999              # idmap range, below 2^31; never shared with any other source
Shell=/bin/bash                # the engineer's real shell
Record=yes                     # wrap it in tlog-rec-session, recording to journald;
                               # if tlog is missing, engineer logins are refused (fail closed)
HomeBase=/var/lib/lockbox/home

[Notify]
Command=/usr/sbin/sendmail -t -i
Approvers=                     # e-mail addresses, space separated; empty = no mail

[Paths]
StateDir=/var/lib/lockbox      # approval/, enforcer/ and home/ below it
RuntimeDir=/run/lockbox
)";

void test_design_example_parses_with_inline_comments(void**) {
    Config c = parse_ok(DESIGN_DOC_EXAMPLE);
    assert_string_equal(c.tenant.c_str(), "contoso");
    assert_string_equal(c.host_name.c_str(), "db01");
    assert_int_equal(c.max_grant, 4 * 3600 * S);
    assert_int_equal(c.clock_skew, 30 * S);
    assert_string_equal(c.trusted_dir.c_str(), "/etc/lockbox/trusted.d");
    assert_string_equal(c.approver_group.c_str(), "lockbox-approvers");
    assert_int_equal(c.uid_min, 2100000000u);
    assert_string_equal(c.shell.c_str(), "/bin/bash");
    assert_true(c.record);
    assert_string_equal(c.notify_command.c_str(), "/usr/sbin/sendmail -t -i");
    assert_true(c.approver_emails.empty());
    assert_string_equal(c.runtime_dir.c_str(), "/run/lockbox");
}

void test_every_added_key_is_read(void**) {
    Config c = parse_ok(
        "[Policy]\nKillGrace=5s\nKillLead=250ms\nWarnBefore=1m 15m 5m\nResyncInterval=20s\n"
        "[Keys]\nKeyOwner=1000\n"
        "[Accounts]\nKeepHome=on\nKeyOptions=restrict,pty,port-forwarding\nRecordShell=/usr/local/bin/"
        "tlog-rec-session\n"
        "Record=off\n"
        "[Notify]\nMailDomain=example.com\nApprovers=a@example.com  b.c@sub.example.org\n"
        "[Paths]\nStateDir=/srv/lockbox/\n");
    assert_int_equal(c.kill_grace, 5 * S);
    assert_int_equal(c.kill_lead, 250'000);
    assert_int_equal(parse_ok("[Policy]\nKillLead=2s\n").kill_lead, 2 * S);
    assert_int_equal(parse_ok("[Policy]\nKillLead=0\n").kill_lead, 0);
    assert_int_equal(c.resync_interval, 20 * S);
    assert_int_equal(parse_ok("[Policy]\nRetention=30d\n").retention, 30 * 24 * 3600 * S);
    assert_int_equal(parse_ok("[Policy]\nRetention=48h\n").retention, 48 * 3600 * S);
    assert_int_equal(parse_ok("[Policy]\nRetention=3650d\n").retention, 3650ULL * 24 * 3600 * S);
    assert_int_equal(c.warn_before.size(), 3);
    assert_int_equal(c.warn_before[0], 900 * S);  // largest first
    assert_int_equal(c.warn_before[2], 60 * S);
    assert_true(c.key_owner.has_value());
    assert_int_equal(expected_key_owner(c), 1000);
    // Unset: whoever reads the key must own it (root for lockboxd, the
    // approval service's own user for its signing key).
    assert_false(parse_ok("").key_owner.has_value());
    assert_int_equal(expected_key_owner(parse_ok("")), geteuid());
    assert_true(c.keep_home);
    assert_false(c.record);
    assert_string_equal(c.key_options.c_str(), "restrict,pty,port-forwarding");
    assert_string_equal(c.record_shell.c_str(), "/usr/local/bin/tlog-rec-session");
    assert_string_equal(c.mail_domain.c_str(), "example.com");
    assert_int_equal(c.approver_emails.size(), 2);
    assert_string_equal(c.approver_emails[1].c_str(), "b.c@sub.example.org");
    assert_string_equal(c.state_dir.c_str(), "/srv/lockbox");       // trailing '/' dropped
    assert_string_equal(c.home_base.c_str(), "/srv/lockbox/home");  // follows StateDir
    assert_string_equal(c.approval_dir().c_str(), "/srv/lockbox/approval");
    assert_true(parse_ok("[Policy]\nWarnBefore=\n").warn_before.empty());
    assert_int_equal(parse_ok("[Policy]\nClockSkew=0\nKillGrace=0\n").clock_skew, 0);
    assert_string_equal(parse_ok("[Accounts]\nHomeBase=/home/eng\n[Paths]\nStateDir=/x\n").home_base.c_str(),
                        "/home/eng");
}

void test_syntax_variants_comments_crlf_bom_whitespace(void**) {
    Config c = parse_ok(
        "\xef\xbb\xbf# comment\r\n; other comment\r\n\r\n  [Host]   # trailing\r\n"
        "   Tenant = contoso ; inline\r\n\tName=db-1\r\n[Policy]\nMaxGrant=1h30m");
    assert_string_equal(c.tenant.c_str(), "contoso");
    assert_string_equal(c.host_name.c_str(), "db-1");
    assert_int_equal(c.max_grant, 5400 * S);
    // '#' inside a value (no whitespace before it) is kept.
    assert_string_equal(parse_ok("[Notify]\nCommand=/usr/bin/mail#x -s\n").notify_command.c_str(),
                        "/usr/bin/mail#x -s");
    // Values longer than inih's 200-byte line buffer arrive whole.
    std::string many;
    for (int i = 0; i < 30; i++)
        many += "approver" + std::to_string(i) + "@customer.example.com ";
    assert_int_equal(parse_ok("[Notify]\nApprovers=" + many + "\n").approver_emails.size(), 30);
}

void test_booleans_accept_systemd_spellings(void**) {
    struct {
        const char* v;
        bool want;
    } cases[] = {{"yes", true}, {"true", true},   {"1", true},  {"on", true},   {"YES", true},
                 {"no", false}, {"false", false}, {"0", false}, {"off", false}, {"Off", false}};
    for (const auto& c : cases)
        assert_int_equal(parse_ok(std::string("[Accounts]\nRecord=") + c.v + "\n").record, c.want);
    parse_bad("[Accounts]\nRecord=maybe\n", {"test.conf:2", "Record=\"maybe\"", "boolean"});
    parse_bad("[Accounts]\nKeepHome=\n", {"test.conf:2", "KeepHome", "boolean"});
}

void test_unknown_keys_and_sections_name_file_line_and_key(void**) {
    parse_bad("[Host]\nTenant=contoso\nTennant=contoso\n", {"test.conf:3", "unknown key Tennant=", "[Host]"});
    parse_bad("[Hots]\nTenant=contoso\n", {"test.conf:1", "unknown section [Hots]"});
    parse_bad("Tenant=contoso\n", {"test.conf:1", "outside of any [Section]"});
    parse_bad("[Policy]\nmaxgrant=1h\n", {"test.conf:2", "unknown key maxgrant="});  // keys are case-sensitive
}

void test_malformed_lines_name_file_line(void**) {
    parse_bad("[Host]\nTenant contoso\n", {"test.conf:2", "expected Key=Value"});
    parse_bad("[Host\nTenant=contoso\n", {"test.conf:1", "malformed section"});
    parse_bad("[]\n", {"test.conf:1", "malformed section"});
    parse_bad("[Host]\n=contoso\n", {"test.conf:2", "malformed key"});
    parse_bad("[Host]\nTen-ant=x\n", {"test.conf:2", "malformed key"});
    parse_bad("[Host]\nTenant=" + std::string(5000, 'a') + "\n", {"test.conf:2", "longer than 4096"});
    parse_bad(std::string("[Host]\nTenant=con\0toso\n", 22), {"test.conf:2"});
    parse_bad("[Host]\nTenant=a\nTenant=b\n", {"test.conf:3", "set twice (first at line 2)"});
}

void test_every_problem_is_reported_in_one_pass(void**) {
    parse_bad("[Host]\nTenant=Bad Tenant\n[Policy]\nMaxGrant=4\n[Nope]\n",
              {"test.conf:2", "test.conf:4", "test.conf:5"});
}

void test_durations_are_bounded(void**) {
    struct {
        const char* text;
        std::vector<std::string> needles;
    } cases[] = {
        {"[Policy]\nMaxGrant=25h\n", {"test.conf:2", "MaxGrant=\"25h\"", "at most 24h"}},
        {"[Policy]\nMaxGrant=0\n", {"MaxGrant=\"0\"", "greater than 0"}},
        {"[Policy]\nMaxGrant=4\n", {"MaxGrant=\"4\"", "a duration"}},
        {"[Policy]\nMaxGrant=4 h\n", {"MaxGrant=\"4 h\""}},
        {"[Policy]\nMaxGrant=-1h\n", {"MaxGrant=\"-1h\""}},
        {"[Policy]\nMaxGrant=99999999999999999999h\n", {"MaxGrant="}},
        {"[Policy]\nPendingTimeout=169h\n", {"PendingTimeout=\"169h\"", "at most 168h"}},
        {"[Policy]\nPendingTimeout=0s\n", {"PendingTimeout=\"0s\""}},
        {"[Policy]\nClockSkew=11m\n", {"ClockSkew=\"11m\"", "between 0 and 10m"}},
        {"[Policy]\nKillGrace=2m\n", {"KillGrace=\"2m\""}},
        {"[Policy]\nKillLead=6s\n", {"KillLead=\"6s\"", "between 0 and 5s"}},
        {"[Policy]\nKillLead=5001ms\n", {"KillLead=\"5001ms\""}},
        {"[Policy]\nKillLead=-5ms\n", {"KillLead=\"-5ms\""}},
        {"[Policy]\nKillLead=1.5ms\n", {"KillLead=\"1.5ms\""}},
        {"[Policy]\nResyncInterval=61s\n", {"ResyncInterval=\"61s\"", "between 1s and 60s"}},
        {"[Policy]\nRetention=3651d\n", {"Retention=\"3651d\"", "between 1d and 3650d"}},
        {"[Policy]\nRetention=23h\n", {"Retention=\"23h\"", "between 1d and 3650d"}},
        {"[Policy]\nRetention=0d\n", {"Retention=\"0d\""}},
        {"[Policy]\nRetention=1y\n", {"Retention=\"1y\""}},
        {"[Policy]\nResyncInterval=0\n", {"ResyncInterval=\"0\"", "between 1s and 60s"}},
        {"[Policy]\nWarnBefore=10m 0s\n", {"WarnBefore=\"10m 0s\""}},
        {"[Policy]\nWarnBefore=25h\n", {"WarnBefore="}},
        {"[Policy]\nWarnBefore=1s 2s 3s 4s 5s 6s 7s 8s 9s\n", {"WarnBefore=", "at most 8"}},
    };
    for (const auto& c : cases)
        parse_bad(c.text, c.needles);
    assert_int_equal(parse_ok("[Policy]\nMaxGrant=24h\nPendingTimeout=168h\nClockSkew=10m\n").max_grant, 24 * 3600 * S);
    assert_int_equal(parse_ok("[Policy]\nMaxGrant=1s\n").max_grant, S);
}

void test_uid_range_is_inside_bounds_and_ordered(void**) {
    parse_bad("[Accounts]\nUIDMin=999\n", {"test.conf:2", "UIDMin=\"999\"", "between 1000 and 2147483647"});
    parse_bad("[Accounts]\nUIDMax=2147483648\n", {"UIDMax=\"2147483648\""});
    parse_bad("[Accounts]\nUIDMax=-5\n", {"UIDMax=\"-5\""});
    parse_bad("[Accounts]\nUIDMin=0x100000\n", {"UIDMin="});
    parse_bad("[Accounts]\nUIDMin=2100000000\nUIDMax=2100000000\n", {"test.conf:3", "must be below UIDMax"});
    parse_bad("[Accounts]\nUIDMax=5000\n", {"test.conf:2", "UIDMin=2100000000 must be below UIDMax=5000"});
    parse_bad("[Accounts]\nHomeBase=/srv/a:b\n", {"test.conf:2", "without ':'"});
    parse_bad("[Accounts]\nShell=/bin/x:y\n", {"test.conf:2", "without ':'"});
    Config c = parse_ok("[Accounts]\nUIDMin=1000\nUIDMax=2147483647\n");
    assert_int_equal(c.uid_min, 1000u);
    assert_int_equal(c.uid_max, 2147483647u);
    parse_bad("[Keys]\nKeyOwner=root\n", {"KeyOwner=\"root\"", "numeric uid"});
}

void test_names_paths_and_addresses_are_validated(void**) {
    struct {
        const char* text;
        std::vector<std::string> needles;
    } cases[] = {
        {"[Host]\nTenant=Contoso\n", {"test.conf:2", "Tenant=\"Contoso\"", "tenant name"}},
        {"[Host]\nTenant=\n", {"Tenant=\"\""}},
        {"[Host]\nName=DB01\n", {"Name=\"DB01\"", "host name"}},
        {"[Host]\nName=db_01\n", {"Name=\"db_01\""}},
        {"[Keys]\nTrustedDir=etc/lockbox\n", {"TrustedDir=\"etc/lockbox\"", "absolute path"}},
        {"[Keys]\nSigningKey=/etc/../tmp/k\n", {"SigningKey=", "without '..'"}},
        {"[Paths]\nStateDir=\n", {"StateDir=\"\"", "absolute path"}},
        {"[Paths]\nRuntimeDir=run\n", {"RuntimeDir="}},
        {"[Accounts]\nShell=bash\n", {"Shell=\"bash\""}},
        {"[Accounts]\nHomeBase=~/x\n", {"HomeBase="}},
        {"[Accounts]\nRecordShell=tlog-rec-session\n", {"RecordShell="}},
        {"[Accounts]\nKeyOptions=restrict, pty\n", {"KeyOptions=", "without spaces"}},
        {"[Roles]\nManagerGroup=Managers\n", {"ManagerGroup=\"Managers\"", "group name"}},
        {"[Roles]\nApproverGroup=\n", {"ApproverGroup="}},
        {"[Notify]\nCommand=sendmail -t\n", {"Command=\"sendmail -t\"", "absolute path"}},
        {"[Notify]\nCommand=\n", {"Command="}},
        {"[Notify]\nApprovers=alice\n", {"Approvers=\"alice\"", "e-mail"}},
        {"[Notify]\nApprovers=a@b@c.com\n", {"Approvers="}},
        {"[Notify]\nApprovers=<a@example.com>\n", {"Approvers="}},
        {"[Notify]\nMailDomain=exa mple.com\n", {"MailDomain="}},
    };
    for (const auto& c : cases)
        parse_bad(c.text, c.needles);
    assert_true(parse_ok("[Notify]\nMailDomain=\n").mail_domain.empty());
}

std::string temp_dir() {
    char tmpl[] = "/tmp/test_config.XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return tmpl;
}

void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    assert_non_null(f);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

void test_load_config_reads_files_and_refuses_missing_large_and_odd(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/lockbox.conf";
    write_file(path, "[Host]\nTenant=contoso\nBogus=1\n");
    auto bad = load_config(path);
    assert_false(bad.ok());
    assert_non_null(std::strstr(bad.error().message.c_str(), (path + ":3").c_str()));

    write_file(path, "[Host]\nTenant=contoso\n");
    auto good = load_config(path);
    assert_true(good.ok());
    assert_string_equal(good->tenant.c_str(), "contoso");

    auto missing = load_config(dir + "/nope.conf");
    assert_false(missing.ok());
    assert_errc(missing.error().code, lockbox::Errc::NotFound);
    assert_non_null(std::strstr(missing.error().message.c_str(), "nope.conf"));
    auto missing_ok = load_config(dir + "/nope.conf", true);
    assert_true(missing_ok.ok());
    assert_string_equal(missing_ok->state_dir.c_str(), LOCKBOX_STATE_DIR);

    auto directory = load_config(dir, true);
    assert_false(directory.ok());
    assert_non_null(std::strstr(directory.error().message.c_str(), "not a regular file"));

    std::string big = "# " + std::string(MAX_CONFIG_SIZE, 'x') + "\n";
    write_file(path, big);
    auto large = load_config(path);
    assert_false(large.ok());
    assert_errc(large.error().code, lockbox::Errc::BadConfig);
    auto large_text = parse_config(big, "mem");
    assert_false(large_text.ok());
    assert_errc(large_text.error().code, lockbox::Errc::BadConfig);

    unlink(path.c_str());
    rmdir(dir.c_str());
}

std::string read_file(const std::string& path) {
    std::string out;
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f)
        fail_msg("cannot read %s", path.c_str());
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    std::fclose(f);
    return out;
}

// docs/lockbox.conf.example must load, and docs/configuration.md must document
// every key the example shows (and the example must show every key).
// [Access] Levels=: least privileged first, comma- or space-separated; the
// default is one level, user. Names that would make a group Lockbox already
// uses, or a range too small for the level groups, are refused.
void test_access_levels(void**) {
    assert_true((parse_ok("").access_levels == std::vector<std::string>{"user"}));
    assert_true((parse_ok("[Access]\nLevels=user,dbadmin, admin\n").access_levels ==
                 std::vector<std::string>{"user", "dbadmin", "admin"}));
    assert_true(
        (parse_ok("[Access]\nLevels=user dbadmin\n").access_levels == std::vector<std::string>{"user", "dbadmin"}));
    parse_bad("[Access]\nLevels=\n", {"test.conf:2", "Levels="});
    parse_bad("[Access]\nLevels=user,user\n", {"Levels=", "distinct"});
    parse_bad("[Access]\nLevels=User\n", {"Levels="});
    parse_bad("[Access]\nLevels=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", {"Levels=", "1 to 16"});
    parse_bad("[Access]\nLevels=user,grantees\n", {"test.conf:2", "lockbox-grantees"});
    parse_bad("[Access]\nLevels=approvers\n", {"lockbox-approvers"});
    parse_bad("[Accounts]\nUIDMin=2100000000\nUIDMax=2100000010\n", {"must hold more than"});
}

void test_documented_example_loads_and_every_key_is_documented(void**) {
    const char* root = std::getenv("LOCKBOX_SOURCE_ROOT");
    if (!root)
        skip();
    auto c = load_config(std::string(root) + "/docs/lockbox.conf.example");
    if (!c)
        fail_msg("example refused: %s", c.error().message.c_str());
    assert_string_equal(c->tenant.c_str(), "contoso");
    std::string example = read_file(std::string(root) + "/docs/lockbox.conf.example");
    std::string reference = read_file(std::string(root) + "/docs/configuration.md");
    const char* keys[] = {"Tenant",       "Name",          "MaxGrant",   "PendingTimeout", "ClockSkew", "KillGrace",
                          "KillLead",     "WarnBefore",    "TrustedDir", "SigningKey",     "KeyOwner",  "EngineerGroup",
                          "ManagerGroup", "ApproverGroup", "UIDMin",     "UIDMax",         "Shell",     "Record",
                          "RecordShell",  "HomeBase",      "KeepHome",   "KeyOptions",     "Command",   "Approvers",
                          "MailDomain",   "StateDir",      "RuntimeDir", "Groups",         "Mode",      "Endpoints",
                          "CAFile",       "CertFile",      "KeyFile",    "Levels",         "Retention"};
    for (const char* k : keys) {
        // Each documented key is accepted by the parser (an empty value may be
        // refused, but never as an unknown key).
        std::string section = reference.substr(0, reference.find(std::string("`") + k + "=`"));
        if (section.size() == reference.size())
            fail_msg("docs/configuration.md lacks `%s=`", k);
        if (example.find(std::string("\n") + k + "=") == std::string::npos &&
            example.find(std::string("#") + k + "=") == std::string::npos)
            fail_msg("docs/lockbox.conf.example lacks %s=", k);
        size_t h = section.rfind("\n## [");
        std::string header = section.substr(h + 4, section.find('\n', h + 1) - h - 4);
        auto r = parse_config(header + "\n" + k + "=\n", "doc");
        if (!r && r.error().message.find("unknown") != std::string::npos)
            fail_msg("%s %s= documented but unknown to the parser: %s", header.c_str(), k, r.error().message.c_str());
    }
}

// [Fleet] and [Host] Groups= (docs/fleet.md): complete or refused with what is
// missing, https only, bounded lists, names validated.
void test_fleet_section_and_host_groups(void**) {
    auto none = parse_ok("[Host]\nTenant=t\n");
    assert_true(none.fleet.mode == FleetMode::None);
    assert_true(none.host_groups.empty());
    auto c = parse_ok(
        "[Host]\nTenant=t\nGroups=payments, eu payments\n[Fleet]\nMode=host\n"
        "Endpoints=https://127.0.0.1:2379,https://etcd-2.example:2379 https://[::1]:2379\n"
        "CAFile=/etc/lockbox/fleet/ca.crt\nCertFile=/etc/lockbox/fleet/h.crt\nKeyFile=/etc/lockbox/fleet/h.key\n");
    assert_true(c.fleet.mode == FleetMode::Host);
    assert_int_equal(c.fleet.endpoints.size(), 3);
    assert_string_equal(c.fleet.endpoints[1].c_str(), "https://etcd-2.example:2379");
    assert_int_equal(c.host_groups.size(), 2);  // the duplicate is dropped
    assert_string_equal(c.host_groups[1].c_str(), "eu");
    parse_bad("[Fleet]\nMode=signer\nEndpoints=https://a:1\n", {"test.conf:2", "needs", "CAFile=", "KeyFile="});
    parse_bad("[Fleet]\nEndpoints=https://a:1\n", {"needs Mode="});
    parse_bad("[Fleet]\nMode=leader\n", {"signer, workflow or host"});
    for (const char* bad : {"http://a:2379", "https://a", "https://a:0", "https://a:65536", "https://a:1/x",
                            "https://user@a:1", "https://A_B:1", "https://[zz]:1"})
        parse_bad(std::string("[Fleet]\nEndpoints=") + bad + "\n", {"https://HOST:PORT"});
    std::string many = "[Fleet]\nEndpoints=";
    for (int i = 0; i < 17; i++)
        many += "https://e" + std::to_string(i) + ":1,";
    parse_bad(many + "\n", {"at most 16"});
    parse_bad("[Fleet]\nCAFile=relative/ca.crt\n", {"absolute path"});
    parse_bad("[Host]\nGroups=Payments\n", {"group names"});
    parse_bad("[Host]\nGroups=@payments\n", {"group names"});
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_come_from_build_config_and_design),
        cmocka_unit_test(test_design_example_parses_with_inline_comments),
        cmocka_unit_test(test_every_added_key_is_read),
        cmocka_unit_test(test_syntax_variants_comments_crlf_bom_whitespace),
        cmocka_unit_test(test_booleans_accept_systemd_spellings),
        cmocka_unit_test(test_unknown_keys_and_sections_name_file_line_and_key),
        cmocka_unit_test(test_malformed_lines_name_file_line),
        cmocka_unit_test(test_every_problem_is_reported_in_one_pass),
        cmocka_unit_test(test_durations_are_bounded),
        cmocka_unit_test(test_uid_range_is_inside_bounds_and_ordered),
        cmocka_unit_test(test_names_paths_and_addresses_are_validated),
        cmocka_unit_test(test_load_config_reads_files_and_refuses_missing_large_and_odd),
        cmocka_unit_test(test_access_levels),
        cmocka_unit_test(test_documented_example_loads_and_every_key_is_documented),
        cmocka_unit_test(test_fleet_section_and_host_groups),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
