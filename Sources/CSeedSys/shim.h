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

/* splice(2) is declared only under _GNU_SOURCE (see above). */
extern __ssize_t splice(int fdin, __off64_t *offin, int fdout, __off64_t *offout, size_t len, unsigned int flags);
/* Moves up to len bytes from in to out (one must be a pipe) without a copy
 * through user space: SPLICE_F_MOVE | SPLICE_F_MORE. */

/* O_DIRECT is _GNU_SOURCE only too; glibc names it __O_DIRECT always. */
static const int CSeedSys_O_DIRECT = __O_DIRECT;

/* SEEK_DATA and SEEK_HOLE are _GNU_SOURCE only too; Linux numbers them 3 and 4. */
static const int CSeedSys_SEEK_DATA = 3;
static const int CSeedSys_SEEK_HOLE = 4;

/* libFuzzer's driver, linked only into seed-fuzz built by scripts/fuzz
   (-sanitize=fuzzer); declared here so Swift can call it. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const unsigned char *data, size_t size));

/* memmem(3) and O_TMPFILE are _GNU_SOURCE only too. */
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static const int CSeedSys_O_TMPFILE = __O_TMPFILE | O_DIRECTORY;
extern void *memrchr(const void *s, int c, size_t n);
