#include "core_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "key_file.h"
#include "paserk.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

std::string dir;
uid_t me;

std::string path(const std::string& name) { return dir + "/" + name; }

void write_file(const std::string& p, const std::string& content, mode_t mode) {
    ::unlink(p.c_str());
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    assert_int_equal(::fchmod(fd, mode), 0);
    ::close(fd);
}

void expect_error(const Error& e, lockbox::Errc code, const char* why) {
    if (e.code != code)
        fail_msg("%s: expected code %s, got %s (%s)", why, lockbox::errc_name(code), lockbox::errc_name(e.code),
                 e.message.c_str());
}

int setup(void**) {
    char tmpl[] = "/tmp/lockbox-key-test.XXXXXX";
    if (!::mkdtemp(tmpl))
        return -1;
    dir = tmpl;
    me = ::geteuid();
    return 0;
}

int teardown(void**) {
    // Only files this test made; no recursive removal of anything else.
    for (const char* n : {"k.public", "k.secret", "a.public", "b.public", "c.txt", "link.public", "s.public",
                          "fifo.public", "big.public", "gen/signing.secret", "gen/signing.public", "gen"})
        ::remove(path(n).c_str());
    ::rmdir(path("sub.public").c_str());
    ::rmdir(path("trusted").c_str());
    ::rmdir(dir.c_str());
    return 0;
}

void test_loads_public_key_with_trailing_newline(void**) {
    SecretKey sk = generate_secret_key();
    write_file(path("k.public"), paserk_public(sk.public_key()) + "\n", 0644);
    auto pk = load_public_key_file(path("k.public"), me);
    assert_true(pk.ok());
    assert_true(*pk == sk.public_key());
    write_file(path("k.public"), paserk_public(sk.public_key()), 0644);
    assert_true(load_public_key_file(path("k.public"), me).ok());
}

void test_refuses_extra_whitespace(void**) {
    SecretKey sk = generate_secret_key();
    const std::string key = paserk_public(sk.public_key());
    for (const std::string& text : {key + "\n\n", std::string(" ").append(key), key + " \n", key + "\r\n"}) {
        write_file(path("k.public"), text, 0644);
        expect_error(load_public_key_file(path("k.public"), me).error(), lockbox::Errc::Malformed, "whitespace");
    }
}

void test_refuses_public_key_writable_by_group_or_others(void**) {
    SecretKey sk = generate_secret_key();
    for (mode_t mode : {0664, 0646, 0666}) {
        write_file(path("k.public"), paserk_public(sk.public_key()), mode);
        expect_error(load_public_key_file(path("k.public"), me).error(), lockbox::Errc::UnsafeFile, "writable");
    }
}

void test_secret_key_must_be_private(void**) {
    SecretKey sk = generate_secret_key();
    const std::string text = paserk_secret(sk) + "\n";
    write_file(path("k.secret"), text, 0600);
    auto loaded = load_secret_key_file(path("k.secret"), me);
    assert_true(loaded.ok());
    assert_memory_equal(loaded->bytes.data(), sk.bytes.data(), 64);
    write_file(path("k.secret"), text, 0400);
    assert_true(load_secret_key_file(path("k.secret"), me).ok());
    for (mode_t mode : {0640, 0604, 0644, 0620}) {
        write_file(path("k.secret"), text, mode);
        expect_error(load_secret_key_file(path("k.secret"), me).error(), lockbox::Errc::UnsafeFile, "readable secret");
    }
}

void test_refuses_symlink(void**) {
    SecretKey sk = generate_secret_key();
    write_file(path("k.public"), paserk_public(sk.public_key()), 0644);
    ::unlink(path("link.public").c_str());
    assert_int_equal(::symlink(path("k.public").c_str(), path("link.public").c_str()), 0);
    expect_error(load_public_key_file(path("link.public"), me).error(), lockbox::Errc::UnsafeFile, "symlink");
}

void test_refuses_fifo_and_directory_without_blocking(void**) {
    ::unlink(path("fifo.public").c_str());
    assert_int_equal(::mkfifo(path("fifo.public").c_str(), 0644), 0);
    expect_error(load_public_key_file(path("fifo.public"), me).error(), lockbox::Errc::UnsafeFile, "fifo");
    ::mkdir(path("sub.public").c_str(), 0755);
    expect_error(load_public_key_file(path("sub.public"), me).error(), lockbox::Errc::UnsafeFile, "directory");
}

void test_refuses_wrong_owner(void**) {
    SecretKey sk = generate_secret_key();
    write_file(path("k.public"), paserk_public(sk.public_key()), 0644);
    expect_error(load_public_key_file(path("k.public"), me + 1).error(), lockbox::Errc::UnsafeFile, "owner");
    if (me != 0)
        return;  // chown needs root; the refusal above already ran
    const uid_t other = 4242;
    assert_int_equal(::chown(path("k.public").c_str(), other, static_cast<gid_t>(-1)), 0);
    expect_error(load_public_key_file(path("k.public"), 0).error(), lockbox::Errc::UnsafeFile, "owned by 4242");
    assert_true(load_public_key_file(path("k.public"), other).ok());
}

void test_refuses_oversized_file(void**) {
    write_file(path("big.public"), "k4.public." + std::string(5000, 'A'), 0644);
    auto r = load_public_key_file(path("big.public"), me);
    expect_error(r.error(), lockbox::Errc::Malformed, "oversized");
    assert_non_null(std::strstr(r.error().message.c_str(), "larger"));
}

void test_missing_file_is_not_found(void**) {
    expect_error(load_public_key_file(path("nothing.public"), me).error(), lockbox::Errc::NotFound, "missing");
}

void test_refuses_secret_in_public_loader_and_vice_versa(void**) {
    SecretKey sk = generate_secret_key();
    write_file(path("k.secret"), paserk_secret(sk), 0600);
    expect_error(load_public_key_file(path("k.secret"), me).error(), lockbox::Errc::Malformed, "secret as public");
    write_file(path("k.public"), paserk_public(sk.public_key()), 0600);
    expect_error(load_secret_key_file(path("k.public"), me).error(), lockbox::Errc::Malformed, "public as secret");
}

void test_trusted_keys_skip_and_report_bad_files(void**) {
    const std::string tdir = path("trusted");
    ::mkdir(tdir.c_str(), 0755);
    SecretKey good = generate_secret_key();
    SecretKey bad = generate_secret_key();
    write_file(tdir + "/a.public", paserk_public(good.public_key()) + "\n", 0644);
    write_file(tdir + "/b.public", paserk_public(bad.public_key()), 0666);
    write_file(tdir + "/c.txt", paserk_public(bad.public_key()), 0644);
    write_file(tdir + "/s.public", paserk_secret(bad), 0600);
    ::unlink((tdir + "/link.public").c_str());
    assert_int_equal(::symlink((tdir + "/c.txt").c_str(), (tdir + "/link.public").c_str()), 0);

    auto keys = load_trusted_keys(tdir, me);
    assert_true(keys.ok());
    assert_int_equal(keys->by_kid.size(), 1);
    assert_true(keys->by_kid.count(paserk_pid(good.public_key())) == 1);
    assert_int_equal(keys->problems.size(), 3);
    for (const auto& p : keys->problems)
        assert_non_null(std::strstr(p.c_str(), tdir.c_str()));

    assert_int_equal(::chmod(tdir.c_str(), 0775), 0);
    expect_error(load_trusted_keys(tdir, me).error(), lockbox::Errc::UnsafeFile, "group-writable dir");
    assert_int_equal(::chmod(tdir.c_str(), 0755), 0);
    for (const char* n : {"/a.public", "/b.public", "/c.txt", "/s.public", "/link.public"})
        ::unlink((tdir + n).c_str());
    expect_error(load_trusted_keys(path("no-such-dir"), me).error(), lockbox::Errc::NotFound, "missing dir");
}

void test_generate_creates_private_dir_and_files(void**) {
    const std::string gdir = path("gen");
    const mode_t old_umask = ::umask(077);
    auto kid = generate_key_pair(gdir);
    ::umask(old_umask);
    if (!kid.ok())
        fail_msg("%s", kid.error().message.c_str());
    struct stat st {};
    assert_int_equal(::stat(gdir.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(::stat((gdir + "/signing.secret").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(::stat((gdir + "/signing.public").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    auto pk = load_public_key_file(gdir + "/signing.public", me);
    auto sk = load_secret_key_file(gdir + "/signing.secret", me);
    assert_true(pk.ok() && sk.ok());
    assert_true(sk->public_key() == *pk);
    assert_string_equal(kid->c_str(), paserk_pid(*pk).c_str());
    assert_string_equal(key_id_of_file(gdir + "/signing.public", me)->c_str(), kid->c_str());
    assert_string_equal(key_id_of_file(gdir + "/signing.secret", me)->c_str(), kid->c_str());
}

void test_generate_refuses_to_overwrite(void**) {
    const std::string gdir = path("gen");
    auto before = load_public_key_file(gdir + "/signing.public", me);
    assert_true(before.ok());
    auto again = generate_key_pair(gdir);
    assert_false(again.ok());
    expect_error(again.error(), lockbox::Errc::Conflict, "second generate");
    assert_true(*load_public_key_file(gdir + "/signing.public", me) == *before);
    // Only the public half left behind: still refused, nothing written.
    ::unlink((gdir + "/signing.secret").c_str());
    expect_error(generate_key_pair(gdir).error(), lockbox::Errc::Conflict, "public half present");
    assert_int_equal(::access((gdir + "/signing.secret").c_str(), F_OK), -1);
}

void test_key_id_refuses_readable_secret_and_garbage(void**) {
    SecretKey sk = generate_secret_key();
    write_file(path("k.secret"), paserk_secret(sk), 0644);
    expect_error(key_id_of_file(path("k.secret"), me).error(), lockbox::Errc::UnsafeFile, "readable secret");
    write_file(path("k.secret"), "hello\n", 0600);
    expect_error(key_id_of_file(path("k.secret"), me).error(), lockbox::Errc::Malformed, "garbage");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_public_key_with_trailing_newline),
        cmocka_unit_test(test_refuses_extra_whitespace),
        cmocka_unit_test(test_refuses_public_key_writable_by_group_or_others),
        cmocka_unit_test(test_secret_key_must_be_private),
        cmocka_unit_test(test_refuses_symlink),
        cmocka_unit_test(test_refuses_fifo_and_directory_without_blocking),
        cmocka_unit_test(test_refuses_wrong_owner),
        cmocka_unit_test(test_refuses_oversized_file),
        cmocka_unit_test(test_missing_file_is_not_found),
        cmocka_unit_test(test_refuses_secret_in_public_loader_and_vice_versa),
        cmocka_unit_test(test_trusted_keys_skip_and_report_bad_files),
        cmocka_unit_test(test_generate_creates_private_dir_and_files),
        cmocka_unit_test(test_generate_refuses_to_overwrite),
        cmocka_unit_test(test_key_id_refuses_readable_secret_and_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
