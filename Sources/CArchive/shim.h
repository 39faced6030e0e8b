#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/sysmacros.h>

/* major/minor/makedev are macros in glibc. */
static inline unsigned int CArchive_major(dev_t d) { return major(d); }
static inline unsigned int CArchive_minor(dev_t d) { return minor(d); }
static inline dev_t CArchive_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
