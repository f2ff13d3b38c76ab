/*
 * C example: stdio and POSIX directory calls on the function's filesystem (wasi-libc).
 *
 * Reads all of stdin (the invocation input), writes it to data/input-<n>.txt where n counts the
 * files already in data/, reads it back with fread, then lists data/ with opendir/readdir
 * (sorted here too, so the output does not depend on the filesystem's order) and prints
 * everything to stdout. Any failure: message on stderr, exit code 1.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INPUT (64 * 1024)
#define MAX_ENTRIES 256

static int fail(const char *what, const char *path) {
    fprintf(stderr, "c-files: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    static char input[MAX_INPUT];
    size_t n = fread(input, 1, sizeof input, stdin);
    if (ferror(stdin)) return fail("read", "stdin");

    if (mkdir("data", 0755) != 0 && errno != EEXIST) return fail("mkdir", "data");

    /* Count existing files to name the new one. */
    DIR *dir = opendir("data");
    if (!dir) return fail("opendir", "data");
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) count++;
    }
    closedir(dir);

    char path[64];
    snprintf(path, sizeof path, "data/input-%d.txt", count);
    FILE *f = fopen(path, "wb");
    if (!f) return fail("fopen", path);
    if (fwrite(input, 1, n, f) != n) return fail("fwrite", path);
    if (fclose(f) != 0) return fail("fclose", path);

    static char back[MAX_INPUT];
    f = fopen(path, "rb");
    if (!f) return fail("fopen", path);
    size_t m = fread(back, 1, sizeof back, f);
    fclose(f);
    if (m != n || memcmp(input, back, n) != 0) {
        fprintf(stderr, "c-files: read back %zu bytes, wrote %zu\n", m, n);
        return 1;
    }
    printf("wrote %s (%zu bytes): ", path, m);
    fwrite(back, 1, m, stdout);
    printf("\n");

    /* List data/, sorted, with sizes. */
    char *names[MAX_ENTRIES];
    int k = 0;
    dir = opendir("data");
    if (!dir) return fail("opendir", "data");
    while ((e = readdir(dir)) != NULL && k < MAX_ENTRIES) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[k++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)k, sizeof names[0], cmp_names);
    printf("data/ has %d file(s):\n", k);
    for (int i = 0; i < k; i++) {
        char p[300];
        struct stat st;
        snprintf(p, sizeof p, "data/%s", names[i]);
        if (stat(p, &st) != 0) return fail("stat", p);
        printf("  %s %lld\n", names[i], (long long)st.st_size);
        free(names[i]);
    }
    return 0;
}
