#include "rt.h"
/* Iterative and recursive Fibonacci; exit code = fib(30) mod 256. */
static u32 fib_rec(u32 n) { return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2); }
int main(void) {
    u32 a = 0, b = 1;
    for (int i = 0; i < 30; i++) { u32 t = a + b; a = b; b = t; }
    nx_puts("fib(30)="); nx_put_u32(a); nx_puts("\n");
    u32 r = fib_rec(20);
    nx_puts("fib_rec(20)="); nx_put_u32(r); nx_puts("\n");
    u32 big = 0, c = 1;
    for (int i = 0; i < 100; i++) { u32 t = big + c; big = c; c = t; }  /* wraps mod 2^32 */
    nx_puts("fib(100) mod 2^32="); nx_put_u32(big); nx_puts("\n");
    return (int)(a & 0xff);
}
