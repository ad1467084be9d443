/*
 * The yardstick, built and run by the bench (bench/run.ts) on the same page-cached file as
 * bin2d: "a minimal C loop reads a page-cached mapping at about 11 GB/s and bins 1.4 G points/s".
 * Two textbook OpenMP loops over a fresh mmap of N float32 x values followed by N float32 y values:
 *   sum  — s += x[i] over both blocks (double accumulator, reduction across threads)
 *   bin  — per-thread 1024 x 1024 uint32 grid, g[(int)(y*1024)*1024 + (int)(x*1024)]++ for points
 *          in [0,1)^2, grids summed at the end
 *   bump — no reads at all: per-thread 1024 x 1024 byte grid, g[xorshift() & (2^20 - 1)]++, i.e.
 *          the rate at which a core can add uniformly random points to a density grid, an upper
 *          bound for any binning kernel on this data (bytes/s = 8 x that rate)
 * Compiled with `cc -O2 -fopenmp`. Prints one JSON line: best of REPS, GB/s and points/s.
 *   usage: loops PATH N [REPS]
 */
#include <fcntl.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static double now(void) { return omp_get_wtime(); }

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: loops PATH N [REPS]\n"); return 2; }
  const long n = atol(argv[2]);
  const int reps = argc > 3 ? atoi(argv[3]) : 3;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < n * 8L) { fprintf(stderr, "loops: cannot read %ld points from %s\n", n, argv[1]); return 1; }
  enum { G = 1024 };
  double bestSum = 1e30, bestBin = 1e30, bestBump = 1e30, check = 0;
  long binned = 0;
  for (int r = 0; r < reps; r++) {
    const float* x = mmap(NULL, (size_t)n * 8, PROT_READ, MAP_SHARED, fd, 0);
    if (x == MAP_FAILED) { perror("mmap"); return 1; }
    const float* y = x + n;
    double t = now(), s = 0;
#pragma omp parallel for reduction(+ : s)
    for (long i = 0; i < 2 * n; i++) s += x[i];
    t = now() - t;
    if (t < bestSum) bestSum = t;
    check = s;
    munmap((void*)x, (size_t)n * 8);

    x = mmap(NULL, (size_t)n * 8, PROT_READ, MAP_SHARED, fd, 0);
    y = x + n;
    long total = 0;
    t = now();
#pragma omp parallel reduction(+ : total)
    {
      uint32_t* g = calloc((size_t)G * G, 4);
#pragma omp for
      for (long i = 0; i < n; i++) {
        const float a = x[i], b = y[i];
        if (a >= 0 && a < 1 && b >= 0 && b < 1) g[(int)(b * G) * G + (int)(a * G)]++;
      }
      for (long c = 0; c < (long)G * G; c++) total += g[c];
      free(g);
    }
    t = now() - t;
    if (t < bestBin) bestBin = t;
    binned = total;
    munmap((void*)x, (size_t)n * 8);

    t = now();
    long bumped = 0;
#pragma omp parallel reduction(+ : bumped)
    {
      uint8_t* g = calloc((size_t)G * G, 1);
      uint32_t s = 2463534242u + 977u * (uint32_t)omp_get_thread_num();
#pragma omp for
      for (long i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        g[s & (G * G - 1)]++;
      }
      for (long c = 0; c < (long)G * G; c++) bumped += g[c];
      free(g);
    }
    t = now() - t;
    if (t < bestBump) bestBump = t;
    check += (double)(bumped & 1);
  }
  printf("{\"threads\": %d, \"sum_gbs\": %.3f, \"bin_pps\": %.0f, \"bump_pps\": %.0f, \"binned\": %ld, \"checksum\": %.6g}\n",
         omp_get_max_threads(), (double)n * 8 / bestSum / 1e9, (double)n / bestBin, (double)n / bestBump, binned, check);
  close(fd);
  return 0;
}
