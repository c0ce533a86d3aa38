/* faults.c - page faults per second on the host kernel, the real-kernel side of bench/linux.ts
 * (issue 3, "Measure"). bench/linux.ts builds it with `gcc -O2` at run time and runs it once per
 * workload; it prints one JSON object.
 *
 *   faults anon [PAGES [RUNS]]  mmap PAGES private anonymous pages, write one byte per page (one
 *                               do_anonymous_page fault each), munmap; the best of RUNS runs
 *   faults cow  [PAGES [RUNS]]  populate PAGES private pages, fork; the child writes one byte per
 *                               page (one wp_page_copy fault each, the parent still maps them) and
 *                               reports its time through a pipe; the best of RUNS runs
 *
 * Only the write loop is timed (CLOCK_MONOTONIC). THP is disabled for the process
 * (PR_SET_THP_DISABLE) so that every page is its own fault, as the model does (THP=never,
 * checklist #56), and each run checks with getrusage that it took exactly PAGES minor faults. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L

static void die(const char *what) {
  fprintf(stderr, "faults: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long minflt(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

static uint8_t *map(long pages) {
  void *p = mmap(NULL, (size_t)(pages * PAGE), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

/* Write one byte per page; returns the seconds taken and stores the minor faults taken. */
static __attribute__((noinline)) double touch(uint8_t *p, long pages, long *faults) {
  long f0 = minflt();
  double t0 = now();
  for (long i = 0; i < pages; i++) ((volatile uint8_t *)p)[i * PAGE] = 1;
  double t = now() - t0;
  *faults = minflt() - f0;
  return t;
}

static double checked(double t, long faults, long pages) {
  if (faults != pages) {
    fprintf(stderr, "faults: expected %ld minor faults, got %ld\n", pages, faults);
    exit(3);
  }
  return t;
}

/* After fork every private page of the process is write-protected: run the measured path once
 * with no pages, so its own COW faults (stack, vvar) fall outside the measured loop. */
static __attribute__((noinline)) void warm_child(uint8_t *p) {
  volatile char buf[64 * 1024];
  long f;
  for (size_t i = 0; i < sizeof buf; i += 512) buf[i] = 0;
  for (int i = 0; i < 2; i++) (void)touch(p, 0, &f);
}

static double anon_run(long pages) {
  uint8_t *p = map(pages);
  long f;
  double t = touch(p, pages, &f);
  munmap(p, (size_t)(pages * PAGE));
  return checked(t, f, pages);
}

static double cow_run(long pages) {
  uint8_t *p = map(pages);
  int fd[2];
  double t = 0;
  for (long i = 0; i < pages; i++) p[i * PAGE] = 2; /* populate in the parent */
  if (pipe(fd)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(fd[0]);
    long f;
    warm_child(p);
    double c = touch(p, pages, &f); /* every write copies: the parent still maps the page */
    if (f != pages) c = -(double)f;
    if (write(fd[1], &c, sizeof c) != sizeof c) _exit(4);
    _exit(0);
  }
  int st;
  close(fd[1]);
  if (read(fd[0], &t, sizeof t) != sizeof t) {
    fprintf(stderr, "faults: the child reported nothing\n");
    exit(3);
  }
  if (t < 0) {
    fprintf(stderr, "faults: expected %ld minor faults in the child, got %.0f\n", pages, -t);
    exit(3);
  }
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "faults: the child failed (status 0x%x)\n", st);
    exit(3);
  }
  close(fd[0]);
  munmap(p, (size_t)(pages * PAGE));
  return t;
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "anon";
  long pages = argc > 2 ? atol(argv[2]) : 16384;
  int runs = argc > 3 ? atoi(argv[3]) : 10;
  int cow = !strcmp(which, "cow");
  struct utsname u;
  if (!cow && strcmp(which, "anon")) {
    fprintf(stderr, "usage: faults anon|cow [PAGES [RUNS]]\n");
    return 1;
  }
  if (pages < 1 || runs < 1) {
    fprintf(stderr, "faults: PAGES and RUNS must be positive\n");
    return 1;
  }
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) die("PR_SET_THP_DISABLE");
  double best = 1e30;
  (void)now(); /* the vDSO and vvar pages fault on first use: not inside a measured loop */
  (void)minflt();
  (void)(cow ? cow_run(pages) : anon_run(pages)); /* warm-up: page tables, allocator caches */
  for (int r = 0; r < runs; r++) {
    double t = cow ? cow_run(pages) : anon_run(pages);
    if (t < best) best = t;
  }
  uname(&u);
  printf("{\"workload\":\"%s\",\"kernel\":\"%s\",\"pages\":%ld,\"runs\":%d,\"best_s\":%.9f,\"faults_per_s\":%.0f}\n",
         which, u.release, pages, runs, best, (double)pages / best);
  return 0;
}
