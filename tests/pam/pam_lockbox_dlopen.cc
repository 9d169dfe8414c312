// Smoke test: pam_lockbox.so loads the way libpam loads it (RTLD_NOW, so every
// symbol must resolve at once) and offers the five entry points.
#include <dlfcn.h>

#include <cstdio>
#include <initializer_list>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE\n", argv[0]);
        return 2;
    }
    void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
        return 1;
    }
    int failures = 0;
    for (const char* name :
         {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session", "pam_sm_close_session"}) {
        if (dlsym(handle, name) == nullptr) {
            fprintf(stderr, "FAIL: %s missing\n", name);
            ++failures;
        }
    }
    for (const char* name :
         {"pam_sm_chauthtok", "_ZN7lockbox11load_configERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEb"}) {
        if (dlsym(handle, name) != nullptr) {
            fprintf(stderr, "FAIL: %s is visible\n", name);
            ++failures;
        }
    }
    if (dlclose(handle) != 0) {
        fprintf(stderr, "FAIL: dlclose: %s\n", dlerror());
        ++failures;
    }
    if (failures == 0)
        printf("pam_lockbox.so loads with RTLD_NOW and exports its entry points\n");
    return failures == 0 ? 0 : 1;
}
