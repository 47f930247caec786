/* A main() for the fuzz targets without libFuzzer: runs the target once on
 * each file named on the command line (a directory: on each file in it),
 * so that 'make check' replays the seed corpus and the regression inputs
 * with the ordinary compiler, and under valgrind if wanted.
 *
 * usage: replay-TARGET FILE|DIR...   prints "N inputs replayed".  A crash
 * of the target is a crash of this program. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int n_replayed;

static void
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t size = 0, allocated = 4096;
    uint8_t *data = malloc(allocated);
    size_t n;
    while (data && (n = fread(data + size, 1, allocated - size, f)) > 0) {
        size += n;
        if (size == allocated) {
            allocated *= 2;
            data = realloc(data, allocated);
        }
    }
    if (!data || ferror(f)) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    /* An exact-size copy, so that valgrind sees reads past the end. */
    uint8_t *input = malloc(size ? size : 1);
    memcpy(input, data, size);
    free(data);
    LLVMFuzzerTestOneInput(input, size);
    free(input);
    n_replayed++;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st)) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        exit(2);
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] != '.') {
            names = realloc(names, (n_names + 1) * sizeof *names);
            size_t len = strlen(path) + strlen(de->d_name) + 2;
            names[n_names] = malloc(len);
            snprintf(names[n_names], len, "%s/%s", path, de->d_name);
            n_names++;
        }
    }
    closedir(dir);
    qsort(names, n_names, sizeof *names, compare_names);
    for (size_t i = 0; i < n_names; i++) {
        replay_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int
main(int argc, char *argv[])
{
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        replay_path(argv[i]);
    }
    printf("%d inputs replayed\n", n_replayed);
    return 0;
}
