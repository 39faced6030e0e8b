#include <zlib.h>

/* deflateInit2/inflateInit2 are function-like macros Swift cannot import. */
static inline int CZlib_deflateInit2(z_streamp strm, int level, int windowBits, int memLevel) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int CZlib_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
/* zlib takes Bytef*; Swift hands raw pointers. */
static inline void CZlib_setInput(z_streamp strm, const void *buf, unsigned int len) {
    strm->next_in = (Bytef *)buf; strm->avail_in = len;
}
static inline void CZlib_setOutput(z_streamp strm, void *buf, unsigned int len) {
    strm->next_out = (Bytef *)buf; strm->avail_out = len;
}
