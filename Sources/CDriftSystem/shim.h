// System calls the Swift Glibc module does not import (glibc declares them only under
// _GNU_SOURCE). Declared here without system headers, so no C type is owned by this module.
#ifndef DRIFT_CSYSTEM_SHIM_H
#define DRIFT_CSYSTEM_SHIM_H

int fallocate(int fd, int mode, long offset, long length);
int *__errno_location(void);
int prctl(int option, ...);
int accept4(int fd, void *addr, void *addrlen, int flags);

/// Reserves blocks for [offset, offset + length) without changing the file's size
/// (fallocate with FALLOC_FL_KEEP_SIZE, 1 in linux/falloc.h). Returns 0, or the errno.
static inline int drift_reserve_blocks(int fd, long long offset, long long length) {
    return fallocate(fd, 1, (long)offset, (long)length) == 0 ? 0 : *__errno_location();
}

/// Extends the file to at least offset + length bytes with allocated blocks that read as
/// zeros (fallocate mode 0): later writes below that size change no file size, so their
/// fdatasync has no new size to write. Returns 0, or the errno.
static inline int drift_preallocate(int fd, long long offset, long long length) {
    return fallocate(fd, 0, (long)offset, (long)length) == 0 ? 0 : *__errno_location();
}

/// Accepts a connection on a listening socket, close-on-exec (SOCK_CLOEXEC, 02000000).
/// Returns the descriptor, or -1 with errno set.
static inline int drift_accept(int fd) {
    return accept4(fd, 0, 0, 02000000);
}

/// Names the calling thread (prctl PR_SET_NAME, 15 in linux/prctl.h; the kernel keeps 15 bytes).
static inline void drift_name_thread(const char *name) {
    prctl(15, name, 0, 0, 0);
}
#endif
