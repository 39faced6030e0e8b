/* libdeflate, for its CRC-32: the same checksum as zlib's and gzip's,
 * computed with carry-less multiplication (PCLMULQDQ/VPCLMULQDQ), about
 * four times zlib's speed on the machines seed runs on. */
#include <libdeflate.h>
