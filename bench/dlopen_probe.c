/* dlopen_probe: the time one dlopen of a PAM module takes in a fresh process
 * that, like sshd's, has libpam (and with --sshd libsystemd) loaded already and
 * no libstdc++: what every login pays, since each sshd connection is a new
 * process. Prints microseconds. Usage: dlopen_probe [--sshd] MODULE.so
 * A C program on purpose: a C++ one would have libstdc++ loaded already. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
    int sshd = argc > 2 && strcmp(argv[1], "--sshd") == 0;
    const char* module = argv[argc - 1];
    if (argc < 2 || !dlopen("libpam.so.0", RTLD_NOW | RTLD_GLOBAL) ||
        (sshd && !dlopen("libsystemd.so.0", RTLD_NOW | RTLD_GLOBAL))) {
        fprintf(stderr, "usage: dlopen_probe [--sshd] MODULE.so (needs libpam, libsystemd)\n");
        return 2;
    }
    double t0 = now_us();
    void* h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    double t1 = now_us();
    if (!h) {
        fprintf(stderr, "dlopen_probe: %s\n", dlerror());
        return 1;
    }
    dlclose(h);
    printf("%.1f\n", t1 - t0);
    return 0;
}
