// System calls the Swift Glibc module does not import (glibc declares them only under
// _GNU_SOURCE). Declared here without system headers, so no C type is owned by this module.
#ifndef DRIFT_CSYSTEM_SHIM_H
#define DRIFT_CSYSTEM_SHIM_H

int fallocate(int fd, int mode, long offset, long length);
int *__errno_location(void);

/// Reserves blocks for [offset, offset + length) without changing the file's size
/// (fallocate with FALLOC_FL_KEEP_SIZE, 1 in linux/falloc.h). Returns 0, or the errno.
static inline int drift_reserve_blocks(int fd, long long offset, long long length) {
    return fallocate(fd, 1, (long)offset, (long)length) == 0 ? 0 : *__errno_location();
}
#endif
