#include "rt.h"
/* Sorts pseudo-random signed words (LCG) with quicksort and insertion sort; prints a digest. */
#define N 500
static i32 xs[N], ys[N];
static void qs(i32 *v, int lo, int hi) {
    while (lo < hi) {
        i32 p = v[(lo + hi) / 2]; int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { i32 t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qs(v, lo, j); lo = i; } else { qs(v, i, hi); hi = j; }
    }
}
int main(void) {
    u32 s = 12345;
    for (int i = 0; i < N; i++) { s = s * 1103515245u + 12345u; xs[i] = (i32)s; ys[i] = (i32)(s >> 7) - 0x00800000; }
    qs(xs, 0, N - 1);
    for (int i = 1; i < N; i++) { i32 k = ys[i]; int j = i - 1; while (j >= 0 && ys[j] > k) { ys[j + 1] = ys[j]; j--; } ys[j + 1] = k; }
    int ok = 1; u32 h = 2166136261u;
    for (int i = 0; i < N; i++) {
        if (i && (xs[i - 1] > xs[i] || ys[i - 1] > ys[i])) ok = 0;
        h = (h ^ (u32)xs[i]) * 16777619u; h = (h ^ (u32)ys[i]) * 16777619u;
    }
    nx_puts(ok ? "sorted " : "UNSORTED "); nx_put_hex(h); nx_puts(" min="); nx_put_hex((u32)xs[0]);
    nx_puts(" max="); nx_put_hex((u32)xs[N - 1]); nx_puts("\n");
    return ok ? (int)(h & 0x7f) : 255;
}
