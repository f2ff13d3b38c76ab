/* Tiny runtime for Nexus RV32IM guests: Linux RISC-V syscall numbers (see the crate docs). */
#ifndef NEXUS_RT_H
#define NEXUS_RT_H
typedef unsigned int u32;
typedef int i32;
typedef unsigned long size_t;

static inline long nx_syscall3(long n, long a, long b, long c) {
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}
static inline long nx_write(const void *buf, size_t len) { return nx_syscall3(64, 1, (long)buf, (long)len); }
static inline long nx_read(void *buf, size_t len) { return nx_syscall3(63, 0, (long)buf, (long)len); }
static inline void nx_exit(int code) { nx_syscall3(93, code, 0, 0); for (;;) {} }

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t nx_strlen(const char *s);
void nx_puts(const char *s);
void nx_put_u32(u32 v);
void nx_put_hex(u32 v);
#endif
