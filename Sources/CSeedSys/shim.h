/* libc facilities that Swift's Glibc module does not bring in. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <fnmatch.h>
#include <sys/xattr.h>
#include <sys/stat.h>

static inline int CSeedSys_setMmapThreshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
static inline int CSeedSys_setTrimThreshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

/* O_NOATIME is _GNU_SOURCE only. */
static const int CSeedSys_O_NOATIME = O_NOATIME;

/* UTIME_OMIT is an expression macro Swift cannot import. */
static const long CSeedSys_UTIME_OMIT = UTIME_OMIT;
