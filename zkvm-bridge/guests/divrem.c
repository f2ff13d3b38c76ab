#include "rt.h"
/* Division, remainder, multiply-high and shift edge cases. Operands go through volatile storage so
 * gcc cannot constant-fold them; each result is printed in hex. */
static volatile i32 vals[] = { 0, 1, -1, 2, -2, 7, -7, 0x7fffffff, (i32)0x80000000, 3, -3, 31, 32, 33, 63, 0x12345678 };
#define NV (int)(sizeof(vals) / sizeof(vals[0]))
static u32 acc = 0;
static void out(u32 v) { nx_put_hex(v); nx_puts(" "); acc = (acc ^ v) * 16777619u + 1; }
static i32 mulh(i32 a, i32 b) { return (i32)(((long long)a * (long long)b) >> 32); }
static u32 mulhu(u32 a, u32 b) { return (u32)(((unsigned long long)a * (unsigned long long)b) >> 32); }
static i32 mulhsu(i32 a, u32 b) { return (i32)(((long long)a * (long long)(unsigned long long)b) >> 32); }
int main(void) {
    for (int i = 0; i < NV; i++) {
        for (int j = 0; j < NV; j++) {
            i32 a = vals[i], b = vals[j]; u32 ua = (u32)a, ub = (u32)b; i32 q, r; u32 uq, ur;
            /* Division by zero and INT_MIN/-1 are undefined in C, so issue the instructions directly. */
            __asm__ volatile("div %0, %1, %2" : "=r"(q) : "r"(a), "r"(b));
            __asm__ volatile("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
            __asm__ volatile("divu %0, %1, %2" : "=r"(uq) : "r"(ua), "r"(ub));
            __asm__ volatile("remu %0, %1, %2" : "=r"(ur) : "r"(ua), "r"(ub));
            out((u32)q); out((u32)r); out(uq); out(ur);
            out((u32)mulh(a, b)); out(mulhu(ua, ub)); out((u32)mulhsu(a, ub)); out(ua * ub);
            u32 sl, sr, sa;  /* register shifts use only the low 5 bits of rs2 */
            __asm__ volatile("sll %0, %1, %2" : "=r"(sl) : "r"(ua), "r"(ub));
            __asm__ volatile("srl %0, %1, %2" : "=r"(sr) : "r"(ua), "r"(ub));
            __asm__ volatile("sra %0, %1, %2" : "=r"(sa) : "r"(ua), "r"(ub));
            out(sl); out(sr); out(sa);
            out((u32)(a < b)); out((u32)(ua < ub));
        }
        nx_puts("\n");
    }
    nx_puts("acc="); nx_put_hex(acc); nx_puts("\n");
    return (int)(acc % 200) + 1;
}
