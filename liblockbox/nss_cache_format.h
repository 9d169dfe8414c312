/* Binary layout of the NSS cache (/run/lockbox/nss.cache): written by lockboxd
 * (liblockbox/nss_cache_writer.cc), mapped read-only by libnss_lockbox.so.2 in every
 * process. C-compatible on purpose: the reader links nothing but libc.
 *
 * The file is written once and never modified afterwards, with one exception: the
 * next writer sets `stale` in the old file before renaming the new one over it
 * (SSSD's RECYCLED idea), so a process holding a mapping learns of the replacement
 * by reading one word, with no syscall. Everything is in the writing host's byte
 * order; `byte_order` catches a file copied from another architecture.
 *
 * Lookups are O(1): open-addressing hash tables (linear probing, load ≤ 1/2) of
 * slots {key, record index}, by name (key = name hash) and by id (key = the id).
 * A probe compares keys inside the slot array and touches only the matching
 * record, so 100 000 engineers cost what 10 do. Every index and string offset is
 * untrusted input for the reader and bounds-checked at each access.
 */
#ifndef LOCKBOX_NSS_CACHE_FORMAT_H
#define LOCKBOX_NSS_CACHE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define LOCKBOX_NSS_CACHE_MAGIC "LBXNSS\r\n"
#define LOCKBOX_NSS_CACHE_MAGIC_SIZE 8
#define LOCKBOX_NSS_CACHE_VERSION 1u
#define LOCKBOX_NSS_CACHE_BYTE_ORDER 0x01020304u
/* Bounds the reader enforces before mapping: a cache for 100 000 engineers is about
 * 12 MiB, so these leave room without letting a bad file make a process map gigabytes. */
#define LOCKBOX_NSS_CACHE_MAX_SIZE (256u * 1024u * 1024u)
#define LOCKBOX_NSS_CACHE_MAX_RECORDS (4u * 1024u * 1024u)
/* Longest string the writer accepts (gecos, home, shell); names are shorter. */
#define LOCKBOX_NSS_CACHE_MAX_STRING 4096u
/* Index of an empty slot. */
#define LOCKBOX_NSS_CACHE_NONE UINT32_MAX
/* Section offsets are multiples of this, so records can be read in place. */
#define LOCKBOX_NSS_CACHE_ALIGN 8u

#ifdef __cplusplus
extern "C" {
#endif

/* A section: `count` elements of the section's record type (bytes, for strings). */
struct lockbox_nss_cache_section {
    uint64_t offset;
    uint64_t count;
};

struct lockbox_nss_cache_header {
    char magic[LOCKBOX_NSS_CACHE_MAGIC_SIZE];
    uint32_t version;
    uint32_t header_size;                               /* sizeof(struct lockbox_nss_cache_header) */
    uint32_t stale;                                     /* 0 while current; set to 1 by the next writer (atomically) */
    uint32_t byte_order;                                /* LOCKBOX_NSS_CACHE_BYTE_ORDER */
    uint64_t file_size;                                 /* must equal st_size */
    int64_t written_at;                                 /* usec since the epoch, for diagnostics */
    struct lockbox_nss_cache_section users;             /* struct lockbox_nss_cache_user */
    struct lockbox_nss_cache_section user_name_slots;   /* struct lockbox_nss_cache_slot, power of two */
    struct lockbox_nss_cache_section user_id_slots;     /* struct lockbox_nss_cache_slot, power of two */
    struct lockbox_nss_cache_section groups;            /* struct lockbox_nss_cache_group */
    struct lockbox_nss_cache_section group_name_slots;  /* struct lockbox_nss_cache_slot, power of two */
    struct lockbox_nss_cache_section group_id_slots;    /* struct lockbox_nss_cache_slot, power of two */
    struct lockbox_nss_cache_section group_members;     /* uint32_t string offsets */
    struct lockbox_nss_cache_section memberships;       /* struct lockbox_nss_cache_membership */
    struct lockbox_nss_cache_section membership_slots;  /* struct lockbox_nss_cache_slot, power of two */
    struct lockbox_nss_cache_section membership_groups; /* uint32_t group record indices */
    struct lockbox_nss_cache_section strings;           /* NUL-terminated, last byte NUL */
};

struct lockbox_nss_cache_user {
    int64_t expires; /* usec since the epoch (CLOCK_REALTIME); resolves while now < expires */
    uint32_t uid;
    uint32_t gid;
    uint32_t name; /* string offsets */
    uint32_t gecos;
    uint32_t home;
    uint32_t shell;
};

struct lockbox_nss_cache_group {
    int64_t expires;
    uint32_t gid;
    uint32_t name;
    uint32_t members_start; /* range in group_members */
    uint32_t members_count;
};

/* For initgroups: the groups one member name belongs to, found by hash, so a login
 * of any account costs O(1) here instead of a scan of every lockbox group. */
struct lockbox_nss_cache_membership {
    uint32_t name;
    uint32_t groups_start; /* range in membership_groups */
    uint32_t groups_count;
};

/* A hash table slot. The table for a key starts probing at
 * hash & (count - 1) (lockbox_nss_cache_hash_name / lockbox_nss_cache_hash_id) and
 * moves to the next slot, wrapping, until it finds its key or an empty slot. */
struct lockbox_nss_cache_slot {
    uint32_t key;   /* name hash, or the uid/gid itself */
    uint32_t index; /* record index, LOCKBOX_NSS_CACHE_NONE when empty */
};

/* FNV-1a: short names, no adversary (only root writes the file). */
static inline uint32_t lockbox_nss_cache_hash_name(const char* name) {
    uint32_t h = 2166136261u;
    for (const unsigned char* p = (const unsigned char*)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

/* murmur3's finalizer: consecutive ids spread over all buckets. */
static inline uint32_t lockbox_nss_cache_hash_id(uint32_t id) {
    id ^= id >> 16;
    id *= 0x85ebca6bu;
    id ^= id >> 13;
    id *= 0xc2b2ae35u;
    id ^= id >> 16;
    return id;
}

#ifdef __cplusplus
}
#endif

#endif /* LOCKBOX_NSS_CACHE_FORMAT_H */
