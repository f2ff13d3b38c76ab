#include "rt.h"
/* gcc may lower loops to memset/memcpy calls even with -nostdlib. */
void *memset(void *d, int c, size_t n) { unsigned char *p = d; while (n--) *p++ = (unsigned char)c; return d; }
void *memcpy(void *d, const void *s, size_t n) { unsigned char *p = d; const unsigned char *q = s; while (n--) *p++ = *q++; return d; }
size_t nx_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
void nx_puts(const char *s) { nx_write(s, nx_strlen(s)); }
void nx_put_u32(u32 v) {
    char buf[12]; int i = 11; buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    nx_write(buf + i, (size_t)(11 - i));
}
void nx_put_hex(u32 v) {
    char buf[10]; buf[0] = '0'; buf[1] = 'x';
    for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    nx_write(buf, 10);
}
