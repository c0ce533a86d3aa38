/* probe.c - run a faultline step list on the host's real Linux kernel and record, per step, what
 * the kernel did: signals with siginfo and sigcontext, min/maj fault deltas, and the page's state
 * from /proc/self/pagemap. test/conformance/host.ts compiles it (gcc -std=c11 -O1 -Wall -Werror
 * -static) and parses its output; README.md next to this file is the longer description.
 *
 * INPUT (stdin): one step per line. Blank lines and lines starting with '#' are skipped (they
 * produce no record but still count in `step`, the 0-based input line number).
 *   mmap NAME LEN PROT FLAGS [ADDR]   anonymous mmap; binds NAME to the result
 *   munmap ADDR LEN | mprotect ADDR LEN PROT | madvise ADDR LEN ADVICE
 *   mlock ADDR LEN [onfault] | munlock ADDR LEN | mlockall FLAGS | munlockall
 *   brk ADDR                          raw brk(2); returns the new (or the old) break
 *   read ADDR SIZE | write ADDR SIZE VALUE | exec ADDR (call ADDR; a page holding 0xc3 returns)
 *   page ADDR                         query only: report the page's state, touch nothing
 *   fork CHILD | proc NAME | exit     processes: `main` is the first one; `proc` hands over
 *   file NAME SIZE HEXPATTERN [tmpfs] create a file (HEXPATTERN repeated, `-` = zeros), fsync it;
 *                                     on the disk directory (setup.files_dir) unless `tmpfs`
 *   drop_caches                       fdatasync + POSIX_FADV_DONTNEED on every probe file (the
 *                                     per-file form of `echo 1 > drop_caches`: both end in
 *                                     invalidate_mapping_pages); ret = page-cache pages dropped
 *                                     (cachestat before and after)
 *   pread FILE OFF SIZE               pread(2) of SIZE (1..8) bytes through a fresh descriptor
 * ADDR  = NAME | NAME+NUM | NAME-NUM | NUM. `brk0` is predefined: the initial program break.
 * NUM   = decimal or 0x-hex, optionally suffixed `p` (pages of 4096): 2p = 8192.
 * SIZE  = 1 | 2 | 4 | 8 (one mov of that width). PROT = none | any of r w x (- ignored): rw, r-x.
 * FLAGS = '|'-separated: private shared fixed noreplace populate growsdown locked noreserve stack thp
 *         (anonymous is implied), and for a file mapping file:NAME, off:NUM, open:r|w|rw (default
 *         rw; the descriptor is opened before the window and closed after it). ADVICE = dontneed free dontfork dofork wipeonfork keeponfork
 *         willneed normal random sequential hugepage nohugepage populate_read populate_write
 *         dontneed_locked cold pageout mergeable unmergeable, or a number. mlockall FLAGS =
 *         '|'-separated current future onfault.
 *
 * OUTPUT (stdout): a `{"setup":{...}}` line, then one JSON object per step, in scenario order:
 *   step, line, proc, op, outcome ("ok" | "fault" | "error" | "skipped"), errno (a name, for a
 *   failed syscall), ret (hex, syscall result), addr (hex, the step's resolved address; for mmap
 *   the result), value (hex, read or written), signal {signo, name, code, code_name, addr (si_addr),
 *   trapno (REG_TRAPNO), err (REG_ERR), cr2 (REG_CR2)}, minflt/majflt (getrusage(RUSAGE_SELF)
 *   deltas around the step; null for fork, exit, proc, page), page {present, swapped, file,
 *   exclusive, pfn, pfn_id, zero} for the page holding addr after the step (null if none).
 *   pfn_id numbers PFNs by first appearance across the whole run and all processes (a table in
 *   MAP_SHARED memory set up before any fork); the shared zero page is always pfn_id 0.
 *
 * HOW: the whole input is read and checked (names, processes) before anything runs. Measured
 * window = getrusage, the one syscall or access, getrusage: syscalls are raw `syscall`
 * instructions, the signal handler runs on a pre-touched alternate stack and leaves by siglongjmp,
 * and before every step run after a fork or a hand-over (`warmup`) the probe re-touches its stack,
 * data and text and replays dummy steps until a replay takes zero faults, so the deltas count only
 * the step. THP: prctl(PR_SET_THP_DISABLE) for the process and madvise(MADV_NOHUGEPAGE) on every
 * mapping and brk extension, unless some mmap step says `thp`. The run is pinned to one CPU (per-CPU
 * LRU batches hold page references that decide COW reuse) and re-executes itself once with
 * ADDR_NO_RANDOMIZE so addresses repeat. The probe's own memory lives at PROBE_BASE.
 * Processes run one at a time: each blocks on its own pipe until `proc` hands it the next step. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096ULL
#define MAX_STEPS 4096
#define MAX_NAMES 256
#define MAX_PROCS 16
#define MAX_PFNS 16384
#define PROBE_BASE 0x100000000000ULL /* 16 TiB: far from the binary, the heap and the mmap area */
#define ALTSTACK_SIZE (64 * 1024)

enum op { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_MLOCK, OP_MUNLOCK, OP_MLOCKALL,
          OP_MUNLOCKALL, OP_BRK, OP_PREAD, OP_READ, OP_WRITE, OP_EXEC, OP_PAGE, OP_FORK, OP_PROC, OP_EXIT,
          OP_FILE, OP_DROP };
static const char *const op_names[] = { "mmap", "munmap", "mprotect", "madvise", "mlock", "munlock",
  "mlockall", "munlockall", "brk", "pread", "read", "write", "exec", "page", "fork", "proc", "exit",
  "file", "drop_caches" };
#define N_OPS ((int)(sizeof op_names / sizeof op_names[0]))

struct expr { int name; int64_t off; }; /* name -1: a literal */
struct step {
  int op, line, has_addr, size, proc, bind, thp;
  int file, open_mode; /* a file step's or file mapping's file (-1: none); O_RDONLY/O_WRONLY/O_RDWR */
  uint64_t off;
  char pattern[64];
  int npattern, tmpfs;
  struct expr a;
  uint64_t len, value;
  long prot, flags, adv;
  char text[160];
};

struct shared { /* MAP_SHARED: one copy for every process */
  uint64_t name_addr[MAX_NAMES];
  uint8_t name_bound[MAX_NAMES];
  int32_t pid[MAX_PROCS];
  uint8_t alive[MAX_PROCS];
  int32_t npfn;
  uint64_t pfn[MAX_PFNS];
};

static struct step steps[MAX_STEPS];
static int nsteps;
static char names[MAX_NAMES][32];
static int nnames;
static char procs[MAX_PROCS][32];
static int nprocs;
static int proc_parent[MAX_PROCS];
static int any_thp;
#define MAX_FILES 32
static char fnames[MAX_FILES][32];
static int nfiles, ftmpfs[MAX_FILES];
static char files_dir[256], shm_dir[256];
static const char *files_fs = "?";

static struct shared *sh;
static int pipes[MAX_PROCS][2];
static int me;
static int pagemap_fd = -1;
static uint64_t zero_pfn;
static uint8_t *scratch; /* rw page, rx page holding `ret`, PROT_NONE page */
static uint8_t *altstack;

static char input[1 << 20];
static char ob[16384];
static size_t on;

/* ---------- small helpers ---------- */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("probe: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(2);
}

static inline long sc(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall" : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(ob + on, sizeof ob - on, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof ob - on) die("output record too long");
  on += (size_t)n;
}

static void flush_out(void) {
  size_t done = 0;
  while (done < on) {
    ssize_t w = write(1, ob + done, on - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(4);
    done += (size_t)w;
  }
  on = 0;
}

static void out_str(const char *s) {
  out("\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') out("\\%c", *s);
    else if ((unsigned char)*s < 0x20) out("\\u%04x", (unsigned char)*s);
    else out("%c", *s);
  }
  out("\"");
}

static const char *errno_name(long e) {
  static const struct { int e; const char *n; } t[] = {
    { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" }, { EBADF, "EBADF" },
    { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
    { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { EINVAL, "EINVAL" }, { ENFILE, "ENFILE" },
    { EMFILE, "EMFILE" }, { ENOSPC, "ENOSPC" }, { ENOSYS, "ENOSYS" }, { EOVERFLOW, "EOVERFLOW" },
    { EHWPOISON, "EHWPOISON" } };
  static char buf[24];
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (t[i].e == e) return t[i].n;
  snprintf(buf, sizeof buf, "E%ld", e);
  return buf;
}

static const char *sig_name(int s) {
  switch (s) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGILL: return "SIGILL";
  case SIGFPE: return "SIGFPE";
  case SIGTRAP: return "SIGTRAP";
  default: return "?";
  }
}

static const char *code_name(int s, int c) {
  static const char *const segv[] = { "?", "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR" };
  static const char *const bus[] = { "?", "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
                                     "BUS_MCEERR_AO" };
  if (c == SI_KERNEL) return "SI_KERNEL";
  if (c == SI_USER) return "SI_USER";
  if (s == SIGSEGV && c > 0 && c <= 4) return segv[c];
  if (s == SIGBUS && c > 0 && c <= 5) return bus[c];
  return "?";
}

/* ---------- parsing ---------- */

static int parse_num(const char *s, uint64_t *v) {
  char *end;
  int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (!*s || *s == '-' || *s == '+') return 0;
  errno = 0;
  *v = strtoull(s, &end, hex ? 16 : 10);
  if (errno || end == s || (hex && end == s + 2)) return 0;
  if (*end == 'p' && end[1] == 0) { *v *= PAGE; return 1; }
  return *end == 0;
}

static int find_name(const char *n) {
  for (int i = 0; i < nnames; i++)
    if (!strcmp(names[i], n)) return i;
  return -1;
}

static int find_proc(const char *n) {
  for (int i = 0; i < nprocs; i++)
    if (!strcmp(procs[i], n)) return i;
  return -1;
}

static int valid_ident(const char *n) {
  if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || *n == '_')) return 0;
  for (; *n; n++)
    if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_'))
      return 0;
  return strlen(n) < sizeof names[0];
}

static void parse_expr(int line, const char *s, struct expr *e) {
  uint64_t v;
  if (*s >= '0' && *s <= '9') {
    if (!parse_num(s, &v)) die("line %d: bad address '%s'", line + 1, s);
    e->name = -1;
    e->off = (int64_t)v;
    return;
  }
  char nm[32];
  size_t k = strcspn(s, "+-");
  if (k >= sizeof nm) die("line %d: name too long in '%s'", line + 1, s);
  memcpy(nm, s, k);
  nm[k] = 0;
  e->name = find_name(nm);
  if (e->name < 0) die("line %d: unknown name '%s' (bind it with mmap first)", line + 1, nm);
  e->off = 0;
  if (s[k]) {
    if (!parse_num(s + k + 1, &v)) die("line %d: bad offset in '%s'", line + 1, s);
    e->off = s[k] == '-' ? -(int64_t)v : (int64_t)v;
  }
}

static long parse_prot(int line, const char *s) {
  long p = 0;
  if (!strcmp(s, "none")) return PROT_NONE;
  for (; *s; s++) {
    if (*s == 'r') p |= PROT_READ;
    else if (*s == 'w') p |= PROT_WRITE;
    else if (*s == 'x') p |= PROT_EXEC;
    else if (*s != '-') die("line %d: bad prot character '%c' (use none or r/w/x)", line + 1, *s);
  }
  return p;
}

struct sym { const char *n; long v; };

static int find_file(const char *n) {
  for (int i = 0; i < nfiles; i++)
    if (!strcmp(fnames[i], n)) return i;
  return -1;
}

/* file:NAME, off:NUM and open:MODE in an mmap's FLAGS: take them out (in place) of the list. */
static void parse_file_flags(int line, char *flags, struct step *s) {
  char buf[160], outb[160] = "";
  if (strlen(flags) >= sizeof buf) die("line %d: mmap flags too long", line + 1);
  strcpy(buf, flags);
  for (char *save = NULL, *tok = strtok_r(buf, "|,", &save); tok; tok = strtok_r(NULL, "|,", &save)) {
    if (!strncmp(tok, "file:", 5)) {
      s->file = find_file(tok + 5);
      if (s->file < 0) die("line %d: no file '%s' (create it with a file step first)", line + 1, tok + 5);
    } else if (!strncmp(tok, "off:", 4)) {
      if (!parse_num(tok + 4, &s->off)) die("line %d: bad offset '%s'", line + 1, tok + 4);
    } else if (!strncmp(tok, "open:", 5)) {
      const char *m = tok + 5;
      s->open_mode = !strcmp(m, "r") ? O_RDONLY : !strcmp(m, "w") ? O_WRONLY : !strcmp(m, "rw") ? O_RDWR : -1;
      if (s->open_mode < 0) die("line %d: open: takes r, w or rw", line + 1);
    } else {
      if (*outb) strcat(outb, "|");
      strcat(outb, tok);
    }
  }
  if ((s->off || s->open_mode != O_RDWR) && s->file < 0) die("line %d: off: and open: need file:", line + 1);
  strcpy(flags, *outb ? outb : "private");
}

static long parse_set(int line, const char *what, const char *s, const struct sym *t, size_t nt) {
  long v = 0;
  char buf[128];
  if (strlen(s) >= sizeof buf) die("line %d: %s too long", line + 1, what);
  strcpy(buf, s);
  for (char *save = NULL, *tok = strtok_r(buf, "|,", &save); tok; tok = strtok_r(NULL, "|,", &save)) {
    size_t i = 0;
    while (i < nt && strcmp(t[i].n, tok)) i++;
    if (i == nt) die("line %d: unknown %s '%s'", line + 1, what, tok);
    v |= t[i].v;
  }
  return v;
}

#define THP_FLAG (1L << 40) /* not a MAP_ flag: "leave THP alone" */
static const struct sym map_flags[] = {
  { "private", MAP_PRIVATE }, { "shared", MAP_SHARED }, { "anon", 0 }, { "fixed", MAP_FIXED },
  { "noreplace", MAP_FIXED_NOREPLACE }, { "populate", MAP_POPULATE }, { "growsdown", MAP_GROWSDOWN },
  { "locked", MAP_LOCKED }, { "noreserve", MAP_NORESERVE }, { "stack", MAP_STACK }, { "thp", THP_FLAG } };
static const struct sym advices[] = {
  { "normal", 0 }, { "random", 1 }, { "sequential", 2 }, { "willneed", 3 }, { "dontneed", 4 },
  { "free", 8 }, { "remove", 9 }, { "dontfork", 10 }, { "dofork", 11 }, { "mergeable", 12 },
  { "unmergeable", 13 }, { "hugepage", 14 }, { "nohugepage", 15 }, { "dontdump", 16 },
  { "dodump", 17 }, { "wipeonfork", 18 }, { "keeponfork", 19 }, { "cold", 20 }, { "pageout", 21 },
  { "populate_read", 22 }, { "populate_write", 23 }, { "dontneed_locked", 24 } };
static const struct sym mcl_flags[] = { { "current", 1 }, { "future", 2 }, { "onfault", 4 } };
#define NSYM(t) (sizeof t / sizeof t[0])

static int tokenize(char *l, char **tok, int max) {
  int n = 0;
  for (char *save = NULL, *t = strtok_r(l, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
    if (n == max) return max + 1;
    tok[n++] = t;
  }
  return n;
}

/* Static check of the process structure as the steps will run: who runs each step, that `proc`
 * names a live process, that `exit` is followed by `proc` or the end, and that main never exits. */
static int sim_cur, sim_alive[MAX_PROCS];

static void parse_line(int line, char *l, struct step *s) {
  static const int arity[][2] = { /* min, max operands */
    [OP_MMAP] = { 4, 5 }, [OP_MUNMAP] = { 2, 2 }, [OP_MPROTECT] = { 3, 3 }, [OP_MADVISE] = { 3, 3 },
    [OP_MLOCK] = { 2, 3 }, [OP_MUNLOCK] = { 2, 2 }, [OP_MLOCKALL] = { 1, 1 }, [OP_MUNLOCKALL] = { 0, 0 },
    [OP_BRK] = { 1, 1 }, [OP_READ] = { 2, 2 }, [OP_WRITE] = { 3, 3 }, [OP_EXEC] = { 1, 1 },
    [OP_PAGE] = { 1, 1 }, [OP_FORK] = { 1, 1 }, [OP_PROC] = { 1, 1 }, [OP_EXIT] = { 0, 0 },
    [OP_FILE] = { 3, 4 }, [OP_DROP] = { 0, 0 }, [OP_PREAD] = { 3, 3 } };
  char *t[8];
  if (strlen(l) >= sizeof s->text) die("line %d: longer than %d characters", line + 1, (int)sizeof s->text - 1);
  strcpy(s->text, l);
  int n = tokenize(l, t, 7);
  s->line = line;
  s->op = -1;
  for (int i = 0; i < N_OPS; i++)
    if (!strcmp(t[0], op_names[i])) s->op = i;
  if (s->op < 0) die("line %d: unknown step '%s'", line + 1, t[0]);
  if (n - 1 < arity[s->op][0] || n - 1 > arity[s->op][1])
    die("line %d: '%s' takes %d..%d operands, got %d", line + 1, t[0], arity[s->op][0], arity[s->op][1], n - 1);
  s->proc = sim_cur;
  s->bind = -1;
  s->file = -1;
  s->open_mode = O_RDWR;
  switch (s->op) {
  case OP_MMAP:
    if (!valid_ident(t[1])) die("line %d: bad name '%s'", line + 1, t[1]);
    if (!parse_num(t[2], &s->len)) die("line %d: bad length '%s'", line + 1, t[2]);
    s->prot = parse_prot(line, t[3]);
    parse_file_flags(line, t[4], s);
    s->flags = parse_set(line, "mmap flag", t[4], map_flags, NSYM(map_flags));
    s->thp = (s->flags & THP_FLAG) != 0;
    any_thp |= s->thp;
    s->flags = (s->flags & ~THP_FLAG) | (s->file < 0 ? MAP_ANONYMOUS : 0);
    if (n == 6) { parse_expr(line, t[5], &s->a); s->has_addr = 1; }
    s->bind = find_name(t[1]);
    if (s->bind < 0) {
      if (nnames == MAX_NAMES) die("line %d: too many names", line + 1);
      s->bind = nnames;
      strcpy(names[nnames++], t[1]);
    }
    break;
  case OP_MUNMAP: case OP_MPROTECT: case OP_MADVISE: case OP_MLOCK: case OP_MUNLOCK:
    parse_expr(line, t[1], &s->a);
    s->has_addr = 1;
    if (!parse_num(t[2], &s->len)) die("line %d: bad length '%s'", line + 1, t[2]);
    if (s->op == OP_MPROTECT) s->prot = parse_prot(line, t[3]);
    if (s->op == OP_MADVISE && !parse_num(t[3], (uint64_t *)&s->adv))
      s->adv = parse_set(line, "advice", t[3], advices, NSYM(advices));
    if (s->op == OP_MLOCK && n == 4) {
      if (strcmp(t[3], "onfault")) die("line %d: mlock takes only 'onfault'", line + 1);
      s->flags = MLOCK_ONFAULT;
    }
    break;
  case OP_MLOCKALL: s->flags = parse_set(line, "mlockall flag", t[1], mcl_flags, NSYM(mcl_flags)); break;
  case OP_BRK: case OP_EXEC: case OP_PAGE: parse_expr(line, t[1], &s->a); s->has_addr = 1; break;
  case OP_READ: case OP_WRITE: {
    uint64_t sz;
    parse_expr(line, t[1], &s->a);
    s->has_addr = 1;
    if (!parse_num(t[2], &sz) || (sz != 1 && sz != 2 && sz != 4 && sz != 8))
      die("line %d: SIZE must be 1, 2, 4 or 8", line + 1);
    s->size = (int)sz;
    if (s->op == OP_WRITE && !parse_num(t[3], &s->value)) die("line %d: bad value '%s'", line + 1, t[3]);
    break;
  }
  case OP_FILE: {
    if (!valid_ident(t[1])) die("line %d: bad file name '%s'", line + 1, t[1]);
    if (!parse_num(t[2], &s->len)) die("line %d: bad size '%s'", line + 1, t[2]);
    s->npattern = 0;
    if (strcmp(t[3], "-")) {
      size_t k = strlen(t[3]);
      if (k % 2 || k / 2 > sizeof s->pattern) die("line %d: HEXPATTERN must be 2..%d hex digits", line + 1, (int)(2 * sizeof s->pattern));
      for (size_t i = 0; i < k; i += 2) {
        unsigned v;
        if (sscanf(t[3] + i, "%2x", &v) != 1) die("line %d: bad HEXPATTERN '%s'", line + 1, t[3]);
        s->pattern[s->npattern++] = (char)v;
      }
    }
    if (n == 5 && strcmp(t[4], "tmpfs")) die("line %d: file takes only 'tmpfs' after the pattern", line + 1);
    s->tmpfs = n == 5;
    s->file = find_file(t[1]);
    if (s->file < 0) {
      if (nfiles == MAX_FILES) die("line %d: too many files", line + 1);
      s->file = nfiles;
      strcpy(fnames[nfiles++], t[1]);
    }
    ftmpfs[s->file] = s->tmpfs;
    break;
  }
  case OP_DROP: break;
  case OP_PREAD: {
    uint64_t sz;
    s->file = find_file(t[1]);
    if (s->file < 0) die("line %d: no file '%s' (create it with a file step first)", line + 1, t[1]);
    if (!parse_num(t[2], &s->off)) die("line %d: bad offset '%s'", line + 1, t[2]);
    if (!parse_num(t[3], &sz) || sz < 1 || sz > 8) die("line %d: SIZE must be 1..8", line + 1);
    s->size = (int)sz;
    s->open_mode = O_RDONLY;
    break;
  }
  case OP_FORK:
    if (!valid_ident(t[1]) || find_proc(t[1]) >= 0) die("line %d: fork needs a new process name", line + 1);
    if (nprocs == MAX_PROCS) die("line %d: at most %d processes", line + 1, MAX_PROCS);
    proc_parent[nprocs] = sim_cur;
    sim_alive[nprocs] = 1;
    s->value = (uint64_t)nprocs;
    strcpy(procs[nprocs++], t[1]);
    break;
  case OP_PROC: {
    int p = find_proc(t[1]);
    if (p < 0 || !sim_alive[p]) die("line %d: no live process '%s'", line + 1, t[1]);
    s->value = (uint64_t)p;
    sim_cur = p;
    break;
  }
  case OP_EXIT:
    if (sim_cur == 0) die("line %d: main cannot exit (the probe needs it to collect the others)", line + 1);
    sim_alive[sim_cur] = 0;
    break;
  }
}

static void parse_input(void) {
  size_t len = 0;
  for (;;) {
    ssize_t r = read(0, input + len, sizeof input - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read stdin: %s", strerror(errno));
    if (r == 0) break;
    len += (size_t)r;
    if (len == sizeof input - 1) die("input too long");
  }
  input[len] = 0;
  strcpy(names[nnames++], "brk0");
  strcpy(procs[nprocs++], "main");
  sim_alive[0] = 1;
  int line = 0, after_exit = 0;
  for (char *l = input, *nl; l; l = nl ? nl + 1 : NULL, line++) {
    nl = strchr(l, '\n');
    if (nl) *nl = 0;
    while (*l == ' ' || *l == '\t') l++;
    if (!*l || *l == '#' || *l == '\r') continue;
    if (nsteps == MAX_STEPS) die("too many steps");
    struct step *s = &steps[nsteps++];
    parse_line(line, l, s);
    if (after_exit && s->op != OP_PROC) die("line %d: after exit, the next step must be proc", line + 1);
    after_exit = s->op == OP_EXIT;
  }
}

/* ---------- page state ---------- */

struct pstate { int valid, present, swapped, file, excl, zero, pfn_id; uint64_t pfn; };

static int pfn_id(uint64_t pfn) {
  if (pfn == zero_pfn) return 0;
  for (int i = 0; i < sh->npfn; i++)
    if (sh->pfn[i] == pfn) return i + 1;
  if (sh->npfn == MAX_PFNS) die("too many distinct PFNs");
  sh->pfn[sh->npfn++] = pfn;
  return sh->npfn;
}

static void query(uint64_t a, struct pstate *p) {
  uint64_t e;
  memset(p, 0, sizeof *p);
  if (a >= (1ULL << 56) || pread(pagemap_fd, &e, 8, (off_t)(a / PAGE * 8)) != 8) return;
  /* Documentation/admin-guide/mm/pagemap.rst: 63 present, 62 swapped, 61 file-page or
   * shared-anon, 56 exclusively mapped, 0-54 PFN (zero without CAP_SYS_ADMIN). */
  p->valid = 1;
  p->present = (int)(e >> 63 & 1);
  p->swapped = (int)(e >> 62 & 1);
  p->file = (int)(e >> 61 & 1);
  p->excl = (int)(e >> 56 & 1);
  p->pfn_id = -1;
  if (p->present && !p->swapped) {
    p->pfn = e & ((1ULL << 55) - 1);
    p->zero = p->pfn == zero_pfn;
    p->pfn_id = pfn_id(p->pfn);
  }
}

static void open_pagemap(void) {
  if (pagemap_fd >= 0) close(pagemap_fd);
  pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap_fd < 0) die("open /proc/self/pagemap: %s", strerror(errno));
}

/* ---------- the measured window ---------- */

static struct rusage ru0, ru1;
static sigjmp_buf jb;
static volatile sig_atomic_t armed;
static volatile int faulted;
static volatile uint64_t loaded;
static struct { int signo, code; uint64_t addr, trapno, err, cr2; } fi;

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  if (!armed) { /* a fault in the probe itself: die of it */
    signal(sig, SIG_DFL);
    return;
  }
  armed = 0;
  fi.signo = sig;
  fi.code = si->si_code;
  fi.addr = (uint64_t)si->si_addr;
  fi.trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
  fi.err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
  fi.cr2 = (uint64_t)uc->uc_mcontext.gregs[REG_CR2];
  siglongjmp(jb, 1);
}

static long step_fd = -1; /* the descriptor of a file mapping or pread, opened before the window */

static __attribute__((noinline)) long perform(const struct step *s, uint64_t a) {
  switch (s->op) {
  case OP_MMAP: return sc(SYS_mmap, (long)a, (long)s->len, s->prot, s->flags, step_fd, (long)s->off);
  case OP_PREAD: loaded = 0; return sc(SYS_pread64, step_fd, (long)&loaded, s->size, (long)s->off, 0, 0);
  case OP_MUNMAP: return sc(SYS_munmap, (long)a, (long)s->len, 0, 0, 0, 0);
  case OP_MPROTECT: return sc(SYS_mprotect, (long)a, (long)s->len, s->prot, 0, 0, 0);
  case OP_MADVISE: return sc(SYS_madvise, (long)a, (long)s->len, s->adv, 0, 0, 0);
  case OP_MLOCK: return sc(SYS_mlock2, (long)a, (long)s->len, s->flags, 0, 0, 0);
  case OP_MUNLOCK: return sc(SYS_munlock, (long)a, (long)s->len, 0, 0, 0, 0);
  case OP_MLOCKALL: return sc(SYS_mlockall, s->flags, 0, 0, 0, 0, 0);
  case OP_MUNLOCKALL: return sc(SYS_munlockall, 0, 0, 0, 0, 0, 0);
  case OP_BRK: return sc(SYS_brk, (long)a, 0, 0, 0, 0, 0);
  case OP_READ:
    switch (s->size) {
    case 1: loaded = *(volatile uint8_t *)a; break;
    case 2: loaded = *(volatile uint16_t *)a; break;
    case 4: loaded = *(volatile uint32_t *)a; break;
    default: loaded = *(volatile uint64_t *)a; break;
    }
    return 0;
  case OP_WRITE:
    switch (s->size) {
    case 1: *(volatile uint8_t *)a = (uint8_t)s->value; break;
    case 2: *(volatile uint16_t *)a = (uint16_t)s->value; break;
    case 4: *(volatile uint32_t *)a = (uint32_t)s->value; break;
    default: *(volatile uint64_t *)a = s->value; break;
    }
    return 0;
  case OP_EXEC: ((void (*)(long, long, long))a)(0, 0, 0); return 0; /* zero args: see README */
  default: return -ENOSYS;
  }
}

struct outcome { int faulted; long ret; long minflt, majflt; };

static __attribute__((noinline)) void measured(const struct step *s, uint64_t a, struct outcome *o) {
  static volatile long ret;
  faulted = 0;
  ret = 0;
  if (sigsetjmp(jb, 1) == 0) {
    sc(SYS_getrusage, RUSAGE_SELF, (long)&ru0, 0, 0, 0, 0);
    armed = 1;
    ret = perform(s, a);
    armed = 0;
  } else {
    faulted = 1;
  }
  sc(SYS_getrusage, RUSAGE_SELF, (long)&ru1, 0, 0, 0, 0);
  o->faulted = faulted;
  o->ret = ret;
  o->minflt = ru1.ru_minflt - ru0.ru_minflt;
  o->majflt = ru1.ru_majflt - ru0.ru_majflt;
}

/* ---------- warmup: make every page the window touches present and writable ---------- */

extern char __executable_start[], etext[];

static __attribute__((noinline)) void touch_stack(void) {
  volatile char buf[64 * 1024];
  for (size_t i = 0; i < sizeof buf; i += 512) buf[i] = 0;
}

static void warmup(void) {
  struct step d[5];
  memset(d, 0, sizeof d);
  d[0].op = OP_READ, d[0].size = 8;
  d[1].op = OP_WRITE, d[1].size = 8;
  d[2].op = OP_EXEC;
  d[3].op = OP_READ, d[3].size = 1; /* the PROT_NONE page: SIGSEGV and siglongjmp */
  d[4].op = OP_MPROTECT, d[4].len = PAGE, d[4].prot = PROT_READ | PROT_WRITE;
  const uint64_t at[5] = { (uint64_t)scratch, (uint64_t)scratch, (uint64_t)scratch + PAGE,
                           (uint64_t)scratch + 2 * PAGE, (uint64_t)scratch };
  for (int pass = 0; pass < 8; pass++) {
    long faults = 0;
    touch_stack();
    for (size_t i = 0; i < ALTSTACK_SIZE; i += 512) altstack[i] = 0;
    for (const volatile char *p = __executable_start; p < etext; p += PAGE) (void)*p;
    for (int i = 0; i < 5; i++) {
      struct outcome o;
      measured(&d[i], at[i], &o);
      if (o.faulted != (i == 3)) die("warmup: dummy step %d faulted=%d", i, o.faulted);
      faults += o.minflt + o.majflt;
    }
    if (pass > 0 && faults == 0) return;
  }
  die("warmup: the probe's own bookkeeping keeps faulting; the fault deltas would be wrong");
}

/* ---------- records ---------- */

static void record_head(const struct step *s, const char *outcome) {
  out("{\"step\":%d,\"line\":", s->line);
  out_str(s->text);
  out(",\"proc\":");
  out_str(procs[me]);
  out(",\"op\":\"%s\",\"outcome\":\"%s\"", op_names[s->op], outcome);
}

static void record_page(const struct pstate *p) {
  if (!p->valid) { out(",\"page\":null"); return; }
  out(",\"page\":{\"present\":%s,\"swapped\":%s,\"file\":%s,\"exclusive\":%s,", p->present ? "true" : "false",
      p->swapped ? "true" : "false", p->file ? "true" : "false", p->excl ? "true" : "false");
  if (p->pfn_id >= 0) out("\"pfn\":\"0x%llx\",\"pfn_id\":%d,", (unsigned long long)p->pfn, p->pfn_id);
  else out("\"pfn\":null,\"pfn_id\":null,");
  out("\"zero\":%s}", p->zero ? "true" : "false");
}

static void emit_control(const struct step *s) {
  record_head(s, "ok");
  out(",\"minflt\":null,\"majflt\":null,\"page\":null}\n");
  flush_out();
}

static void madvise_nohuge(uint64_t a, uint64_t len) {
  if (!any_thp && len) sc(SYS_madvise, (long)(a & ~(PAGE - 1)), (long)((len + (a & (PAGE - 1)) + PAGE - 1) & ~(PAGE - 1)), MADV_NOHUGEPAGE, 0, 0, 0);
}

static void file_path(int f, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s", ftmpfs[f] ? shm_dir : files_dir, fnames[f]);
}

/* cachestat(2) (6.5+): pages of the file in the page cache, or -1. */
static long cached_pages(int fd) {
  struct { uint64_t off, len; } range = { 0, 0 };
  uint64_t cs[5] = { 0 }; /* nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted */
  long r = sc(451 /* SYS_cachestat */, fd, (long)&range, (long)cs, 0, 0, 0);
  return r < 0 ? -1 : (long)cs[0];
}

/* `file` and `drop_caches`: file-system work outside the measured window (no fault counts). */
static void file_step(const struct step *s) {
  char path[320];
  long ret = 0;
  if (s->op == OP_FILE) {
    static char buf[4096]; /* 4 KiB writes: order-0 page-cache folios, as the model has (see README) */
    file_path(s->file, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("create %s: %s", path, strerror(errno));
    for (uint64_t done = 0; done < s->len;) {
      size_t n = s->len - done < sizeof buf ? (size_t)(s->len - done) : sizeof buf;
      for (size_t i = 0; i < n; i++) buf[i] = s->npattern ? s->pattern[(done + i) % (uint64_t)s->npattern] : 0;
      ssize_t w = write(fd, buf, n);
      if (w <= 0) die("write %s: %s", path, strerror(errno));
      done += (uint64_t)w;
    }
    if (fsync(fd)) die("fsync %s: %s", path, strerror(errno));
    close(fd);
    ret = (long)s->len;
  } else {
    for (int f = 0; f < nfiles; f++) {
      file_path(f, path, sizeof path);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue; /* declared but not created yet */
      fdatasync(fd);
      long before = cached_pages(fd);
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      long after = cached_pages(fd);
      if (before >= 0 && after >= 0) ret += before - after;
      close(fd);
    }
  }
  record_head(s, "ok");
  out(",\"ret\":\"0x%lx\",\"minflt\":null,\"majflt\":null,\"page\":null}\n", ret);
  flush_out();
}

static void remove_files(void) {
  char path[320];
  for (int f = 0; f < nfiles; f++) {
    file_path(f, path, sizeof path);
    unlink(path);
  }
  if (*files_dir) rmdir(files_dir);
  if (*shm_dir) rmdir(shm_dir);
}

static void run_step(const struct step *s) {
  uint64_t a = 0;
  if (s->has_addr) {
    if (s->a.name >= 0 && !sh->name_bound[s->a.name]) {
      record_head(s, "skipped");
      out(",\"reason\":\"name %s is not bound (its mmap failed)\",\"minflt\":null,\"majflt\":null,\"page\":null}\n", names[s->a.name]);
      flush_out();
      return;
    }
    a = (s->a.name >= 0 ? sh->name_addr[s->a.name] : 0) + (uint64_t)s->a.off;
  }
  struct pstate p;
  struct outcome o = { 0, 0, 0, 0 };
  if (s->op == OP_FILE || s->op == OP_DROP) { file_step(s); return; }
  uint64_t old_brk = s->op == OP_BRK ? (uint64_t)sc(SYS_brk, 0, 0, 0, 0, 0, 0) : 0;
  step_fd = -1;
  if (s->file >= 0) {
    char path[320];
    file_path(s->file, path, sizeof path);
    step_fd = open(path, s->open_mode | O_CLOEXEC);
    if (step_fd < 0) die("open %s: %s", path, strerror(errno));
  }
  if (s->op != OP_PAGE) measured(s, a, &o);
  if (step_fd >= 0) close((int)step_fd);
  step_fd = -1;
  int failed = !o.faulted && o.ret < 0 && o.ret >= -4095 && s->op != OP_BRK;
  if (s->op == OP_MMAP && !failed) {
    a = (uint64_t)o.ret;
    sh->name_addr[s->bind] = a;
    sh->name_bound[s->bind] = 1;
    if (!s->thp) madvise_nohuge(a, s->len);
  }
  if (s->op == OP_BRK && (uint64_t)o.ret > old_brk) madvise_nohuge(old_brk, (uint64_t)o.ret - old_brk);
  query(a, &p);
  record_head(s, o.faulted ? "fault" : failed ? "error" : "ok");
  if (s->has_addr || (s->op == OP_MMAP && !failed)) out(",\"addr\":\"0x%llx\"", (unsigned long long)a);
  if (failed) out(",\"errno\":\"%s\"", errno_name(-o.ret));
  else if (s->op <= OP_PREAD && !o.faulted) out(",\"ret\":\"0x%llx\"", (unsigned long long)o.ret);
  if ((s->op == OP_READ || s->op == OP_PREAD) && !o.faulted) out(",\"value\":\"0x%llx\"", (unsigned long long)loaded);
  if (s->op == OP_WRITE) out(",\"value\":\"0x%llx\"", (unsigned long long)s->value);
  if (o.faulted)
    out(",\"signal\":{\"signo\":%d,\"name\":\"%s\",\"code\":%d,\"code_name\":\"%s\",\"addr\":\"0x%llx\","
        "\"trapno\":%llu,\"err\":%llu,\"cr2\":\"0x%llx\"}", fi.signo, sig_name(fi.signo), fi.code,
        code_name(fi.signo, fi.code), (unsigned long long)fi.addr, (unsigned long long)fi.trapno,
        (unsigned long long)fi.err, (unsigned long long)fi.cr2);
  if (s->op == OP_PAGE) out(",\"minflt\":null,\"majflt\":null");
  else out(",\"minflt\":%ld,\"majflt\":%ld", o.minflt, o.majflt);
  if (s->has_addr || s->op == OP_MMAP) record_page(&p);
  else out(",\"page\":null");
  out("}\n");
  flush_out();
}

/* ---------- processes ---------- */

enum { TOK_RUN = 1, TOK_READY, TOK_QUIT };
struct token { int32_t kind, next, exited_pid, pad; };

static void send_token(int to, int kind, int next, int exited_pid) {
  struct token t = { kind, next, exited_pid, 0 };
  if (write(pipes[to][1], &t, sizeof t) != sizeof t) die("pipe write: %s", strerror(errno));
}

static void reap_all(void) {
  int st, bad = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &st, 0)) > 0 || (pid < 0 && errno == EINTR))
    if (pid > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      fprintf(stderr, "probe: process %d ended abnormally (status 0x%x)\n", (int)pid, st);
      bad = 1;
    }
  exit(bad ? 3 : 0);
}

static void quit(void) {
  if (me == 0) {
    remove_files();
    reap_all();
  }
  _exit(0);
}

static void finish(void) { /* the running process reached the end of the steps */
  for (int p = 0; p < nprocs; p++)
    if (p != me && sh->alive[p]) send_token(p, TOK_QUIT, 0, 0);
  quit();
}

static struct token receive(void) {
  struct token t;
  ssize_t r;
  while ((r = read(pipes[me][0], &t, sizeof t)) < 0 && errno == EINTR) {}
  if (r != sizeof t) die("%s: pipe read failed", procs[me]);
  return t;
}

static int await_turn(void) {
  struct token t = receive();
  if (t.kind == TOK_QUIT) quit();
  if (t.kind != TOK_RUN) die("%s: unexpected token %d", procs[me], t.kind);
  if (t.exited_pid > 0) { /* wait until the exited process's mm is gone (exit_mm precedes the pidfd wakeup) */
    int fd = (int)syscall(SYS_pidfd_open, t.exited_pid, 0);
    if (fd >= 0) {
      struct pollfd pfd = { fd, POLLIN, 0 };
      while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {}
      close(fd);
    }
  }
  warmup();
  return t.next;
}

static int do_fork(const struct step *s, int i) {
  int child = (int)s->value;
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    me = child;
    alarm(60);
    open_pagemap();
    warmup();
    send_token(proc_parent[child], TOK_READY, 0, 0);
    return await_turn();
  }
  sh->pid[child] = pid;
  sh->alive[child] = 1;
  if (receive().kind != TOK_READY) die("fork: the child did not report ready");
  warmup();
  record_head(s, "ok");
  out(",\"minflt\":null,\"majflt\":null,\"page\":null}\n");
  flush_out();
  return i + 1;
}

static void run(int i) {
  for (;;) {
    if (i >= nsteps) finish();
    const struct step *s = &steps[i];
    switch (s->op) {
    case OP_PROC:
      emit_control(s);
      if ((int)s->value == me) i++;
      else { send_token((int)s->value, TOK_RUN, i + 1, 0); i = await_turn(); }
      break;
    case OP_FORK: i = do_fork(s, i); break;
    case OP_EXIT:
      emit_control(s);
      sh->alive[me] = 0;
      if (i + 1 >= nsteps) finish();
      emit_control(&steps[i + 1]);
      send_token((int)steps[i + 1].value, TOK_RUN, i + 2, (int)getpid());
      _exit(0);
    default: run_step(s); i++;
    }
  }
}

/* ---------- setup ---------- */

static void *map_fixed(uint64_t at, size_t len, int prot, int flags) {
  void *p = mmap((void *)at, len, prot, flags | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) die("mmap probe area at 0x%llx: %s", (unsigned long long)at, strerror(errno));
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

static void find_zero_pfn(void) {
  volatile uint8_t *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint64_t e = 0;
  if (p == MAP_FAILED) die("mmap: %s", strerror(errno));
  madvise((void *)p, PAGE, MADV_NOHUGEPAGE);
  (void)p[0]; /* do_anonymous_page maps the shared zero page for a read fault */
  if (pread(pagemap_fd, &e, 8, (off_t)((uint64_t)p / PAGE * 8)) != 8) die("pagemap read failed");
  munmap((void *)p, PAGE);
  zero_pfn = e & ((1ULL << 55) - 1);
  if (!(e >> 63) || zero_pfn == 0)
    die("pagemap shows no PFN for the zero page: the probe needs root (CAP_SYS_ADMIN) to read PFNs");
}

/* The probe's files: a fresh directory on a disk file system (ext4, xfs, btrfs: not tmpfs or
 * overlay, so that mappings are write-notified and a dropped page is read from a disk), and one in
 * /dev/shm for `tmpfs` files. $FAULTLINE_PROBE_FILES overrides the disk directory's parent. */
static void make_file_dirs(void) {
  const char *cands[] = { getenv("FAULTLINE_PROBE_FILES"), "/var/tmp", "/tmp", "." };
  for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !*files_dir; i++) {
    struct statfs st;
    if (!cands[i] || statfs(cands[i], &st)) continue;
    unsigned long t = (unsigned long)st.f_type;
    if (t == 0x01021994UL /* TMPFS */ || t == 0x794c7630UL /* OVERLAYFS */ || t == 0x9fa0UL /* PROC */) continue;
    files_fs = t == 0xef53UL ? "ext4" : t == 0x58465342UL ? "xfs" : t == 0x9123683eUL ? "btrfs" : "other";
    snprintf(files_dir, sizeof files_dir, "%s/faultline-probe-XXXXXX", cands[i]);
    if (!mkdtemp(files_dir)) *files_dir = 0;
  }
  if (!*files_dir) die("no directory on a disk file system for the probe's files (set FAULTLINE_PROBE_FILES)");
  snprintf(shm_dir, sizeof shm_dir, "/dev/shm/faultline-probe-XXXXXX");
  if (!mkdtemp(shm_dir)) *shm_dir = 0;
}

static void setup(void) {
  struct sigaction sa;
  stack_t ss;
  cpu_set_t cpus;
  struct utsname u;
  int cpu = sched_getcpu();
  CPU_ZERO(&cpus);
  CPU_SET(cpu, &cpus);
  if (sched_setaffinity(0, sizeof cpus, &cpus)) die("sched_setaffinity: %s", strerror(errno));
  if (!any_thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) die("PR_SET_THP_DISABLE: %s", strerror(errno));
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sh = map_fixed(PROBE_BASE, (sizeof *sh + PAGE - 1) & ~(PAGE - 1), PROT_READ | PROT_WRITE, MAP_SHARED);
  altstack = map_fixed(PROBE_BASE + 0x1000000, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  scratch = map_fixed(PROBE_BASE + 0x2000000, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  scratch[PAGE] = 0xc3; /* ret */
  mprotect(scratch + PAGE, PAGE, PROT_READ | PROT_EXEC);
  mprotect(scratch + 2 * PAGE, PAGE, PROT_NONE);
  for (int p = 0; p < MAX_PROCS; p++)
    if (pipe2(pipes[p], O_CLOEXEC)) die("pipe: %s", strerror(errno));
  ss.ss_sp = altstack;
  ss.ss_size = ALTSTACK_SIZE;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL)) die("sigaltstack: %s", strerror(errno));
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
  for (int i = 0; i < 5; i++) sigaddset(&sa.sa_mask, sigs[i]);
  for (int i = 0; i < 5; i++) sigaction(sigs[i], &sa, NULL);
  open_pagemap();
  find_zero_pfn();
  if (nfiles) make_file_dirs();
  sh->pid[0] = getpid();
  sh->alive[0] = 1;
  sh->name_addr[0] = (uint64_t)sc(SYS_brk, 0, 0, 0, 0, 0, 0);
  sh->name_bound[0] = 1;
  uname(&u);
  char thp[64] = "?";
  int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
  if (fd >= 0) {
    ssize_t r = read(fd, thp, sizeof thp - 1);
    thp[r > 0 ? r : 0] = 0;
    thp[strcspn(thp, "\n")] = 0;
    close(fd);
  }
  out("{\"setup\":{\"kernel\":");
  out_str(u.release);
  out(",\"cpu\":%d,\"zero_pfn\":\"0x%llx\",\"brk0\":\"0x%llx\",\"aslr\":%s,\"thp_sysfs\":", cpu,
      (unsigned long long)zero_pfn, (unsigned long long)sh->name_addr[0],
      (personality(0xffffffff) & ADDR_NO_RANDOMIZE) ? "false" : "true");
  out_str(thp);
  out(",\"thp_disabled\":%s,\"probe_base\":\"0x%llx\",\"files_dir\":", any_thp ? "false" : "true",
      (unsigned long long)PROBE_BASE);
  out_str(files_dir);
  out(",\"files_fs\":");
  out_str(files_fs);
  out("}}\n");
  flush_out();
}

int main(int argc, char **argv) {
  (void)argc;
  int pers = personality(0xffffffff);
  if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE) && personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1)
    execv("/proc/self/exe", argv); /* once: the same addresses on every run; on failure go on */
  alarm(60);
  parse_input();
  setup();
  me = 0;
  warmup();
  run(0);
}
