/* files.c - file read faults per second on the host kernel, the real-kernel side of bench/files.ts
 * (issue 5, "Measure"). bench/files.ts builds it with `gcc -O2` at run time; it prints one JSON
 * object.
 *
 *   files around   [PAGES [RUNS]]  a cached PAGES-page file, mapped MAP_PRIVATE PROT_READ; read one
 *                                  byte of every page in order: one fault per 16 pages
 *                                  (do_read_fault → do_fault_around maps the 64 KiB window)
 *   files noaround [PAGES [RUNS]]  the same, with fault-around off for this mapping: one fault per
 *                                  page (do_read_fault → filemap_fault/shmem_fault, finish_fault)
 *
 * Fault-around is switched off per VMA, without touching the global debugfs knob
 * (fault_around_bytes), by registering the mapping with userfaultfd in write-protect mode:
 * uffd_disable_fault_around() is true for VM_UFFD_WP, and a read fault is not a uffd event. That
 * registration needs a shmem file, so both workloads read a file in /dev/shm (tmpfs): a page-cache
 * hit in shmem_fault, the counterpart of the model's cached filemap_fault. Only the read loop is
 * timed (CLOCK_MONOTONIC); getrusage gives the faults it took, and faults/s = faults / time. The
 * best of RUNS runs is kept. THP is disabled for the process (PR_SET_THP_DISABLE). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L

static void die(const char *what) {
  fprintf(stderr, "files: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

/* Fault-around off for [p, p+len): a userfaultfd write-protect registration. */
static int no_fault_around(void *p, long len) {
  int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  if (uffd < 0) die("userfaultfd");
  struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
  if (ioctl(uffd, UFFDIO_API, &api)) die("UFFDIO_API (write-protect on shmem)");
  struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)p, (uint64_t)len }, .mode = UFFDIO_REGISTER_MODE_WP };
  if (ioctl(uffd, UFFDIO_REGISTER, &reg)) die("UFFDIO_REGISTER (write-protect)");
  return uffd;
}

/* One run: map, read every page, unmap. Returns the seconds; *nf gets the faults taken. */
static double run(int fd, long pages, int around, long *nf) {
  long len = pages * PAGE;
  uint8_t *p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) die("mmap");
  int uffd = around ? -1 : no_fault_around(p, len);
  volatile uint8_t sink = 0;
  long f0 = faults();
  double t0 = now();
  for (long i = 0; i < pages; i++) sink ^= ((volatile uint8_t *)p)[i * PAGE];
  double t = now() - t0;
  *nf = faults() - f0;
  (void)sink;
  if (uffd >= 0) close(uffd);
  munmap(p, (size_t)len);
  return t;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "around") && strcmp(argv[1], "noaround"))) {
    fprintf(stderr, "usage: files around|noaround [PAGES [RUNS]]\n");
    return 1;
  }
  int around = !strcmp(argv[1], "around");
  long pages = argc > 2 ? atol(argv[2]) : 16384;
  int runs = argc > 3 ? atoi(argv[3]) : 10;
  if (pages < 16 || runs < 1) return 1;
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  char path[] = "/dev/shm/faultline-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) die("mkstemp /dev/shm");
  unlink(path);
  static char buf[1 << 16];
  memset(buf, 'f', sizeof buf);
  for (long done = 0; done < pages * PAGE; done += (long)sizeof buf)
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write");
  double best = 1e30;
  long nf = 0, expect = around ? pages / 16 : pages;
  for (int r = 0; r < runs + 1; r++) { /* run 0 warms up */
    long f;
    double t = run(fd, pages, around, &f);
    if (f < expect || f > expect + 2) {
      fprintf(stderr, "files: %s: expected about %ld faults, got %ld\n", argv[1], expect, f);
      return 3;
    }
    if (r > 0 && t < best) { best = t; nf = f; }
  }
  printf("{\"workload\":\"%s\",\"pages\":%ld,\"faults\":%ld,\"seconds\":%.9f,\"faults_per_s\":%.1f,\"pages_per_s\":%.1f}\n",
         argv[1], pages, nf, best, (double)nf / best, (double)pages / best);
  return 0;
}
