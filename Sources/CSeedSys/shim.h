/* libc facilities that Swift's Glibc module does not bring in. */
#include <fcntl.h>
#include <malloc.h>
#include <fnmatch.h>
#include <sys/xattr.h>
#include <sys/stat.h>

static inline int CSeedSys_setMmapThreshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
static inline int CSeedSys_setTrimThreshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

/* O_NOATIME is _GNU_SOURCE only, and defining _GNU_SOURCE here would
 * clash with Swift's Glibc module; glibc names it __O_NOATIME always. */
static const int CSeedSys_O_NOATIME = __O_NOATIME;

/* UTIME_OMIT is an expression macro Swift cannot import. */
static const long CSeedSys_UTIME_OMIT = UTIME_OMIT;
