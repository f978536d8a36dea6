#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hafif {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long an idle worker spins before it sleeps on the condition variable (HAFIF_SPIN_US, default
// 200 us; 0 sleeps at once). A sleeping worker needs a futex wake-up and a reschedule before it
// helps, and a training step runs hundreds of kernel calls of 20-300 us, most of which then end
// before the worker is awake. Measured on the 2-core Intel Xeon (AVX-512), mobile-student's fit
// step 4.06 -> 3.02 ms and cifar-student's 2.59 -> 2.30 ms alone; with both training at once
// 4.56 -> 3.70 and 3.55 -> 3.33 ms; beside a busy loop in another process 3.97 -> 2.93 ms, the
// loop no slower. The spin yields the core every 64 turns (see loop()). An earlier spin without
// the yield measured slower on a machine shared with other work (student step 3.5-3.9 ms
// without spinning, 4.0-4.5 ms with 100 us).
int64_t spin_us() {
  if (const char* env = std::getenv("HAFIF_SPIN_US")) {
    const int v = std::atoi(env);
    if (v >= 0) return v;
  }
  return 200;
}

// A small fixed thread pool with dynamic chunk claiming. The caller publishes a job of `parts`
// chunks and claims chunks itself like every worker does, so a worker that is slow to wake (asleep,
// or sharing its core with another process) costs nothing: the caller just runs more chunks, and
// only waits for chunks a worker has already started.
//
// One 64-bit word describes the current job: generation (24 bits) | parts (20) | next chunk (20).
// Claiming is a CAS on that word, so a worker can never claim a chunk of a job other than the one
// whose size it read.
class Pool {
 public:
  static constexpr int64_t kMaxParts = (int64_t{1} << 20) - 1;

  explicit Pool(int n) : spin_(std::chrono::microseconds(spin_us())) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int n) {
    stop();
    stop_.store(false);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
    size_.store(static_cast<int>(workers_.size()) + 1, std::memory_order_relaxed);
  }

  // Runs task(p) for every p in [0, parts), parts <= kMaxParts, on the caller and the workers.
  void run(int64_t parts, const std::function<void(int64_t)>& task) {
    task_ = &task;
    done_.store(0, std::memory_order_relaxed);
    gen_ = (gen_ + 1) & kGenMask;
    claim_.store(pack(gen_, parts, 0), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
    int64_t p, mine = 0;
    while (claim(&p)) {
      task(p);
      ++mine;
    }
    if (mine < parts) {
      done_.fetch_add(mine, std::memory_order_relaxed);
      for (int spins = 0; done_.load(std::memory_order_acquire) != parts;) {
        if (++spins < 4096) cpu_relax();
        else std::this_thread::yield();
      }
    }
    task_ = nullptr;
  }

 private:
  static constexpr uint64_t kGenMask = (uint64_t{1} << 24) - 1;
  static uint64_t pack(uint64_t gen, uint64_t parts, uint64_t next) { return gen << 40 | parts << 20 | next; }
  static uint64_t gen_of(uint64_t v) { return v >> 40; }

  bool claim(int64_t* part) {
    uint64_t v = claim_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t parts = (v >> 20) & kMaxParts, next = v & kMaxParts;
      if (next >= parts) return false;
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        *part = static_cast<int64_t>(next);
        return true;
      }
    }
  }

  void loop() {
    uint64_t seen = gen_of(claim_.load());
    for (;;) {
      uint64_t v;
      auto spin_start = std::chrono::steady_clock::now();
      for (int spins = 0; gen_of(v = claim_.load(std::memory_order_acquire)) == seen;) {
        if (stop_.load(std::memory_order_relaxed)) return;
        // Every 64th turn gives the core away if another thread wants it (a free core returns at
        // once), so a spinning worker takes little from other processes on a busy machine.
        if ((++spins & 63) != 0) {
          cpu_relax();
          continue;
        }
        if (spin_.count() > 0) std::this_thread::yield();
        if (std::chrono::steady_clock::now() - spin_start < spin_) continue;
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, [&] { return stop_.load() || gen_of(claim_.load(std::memory_order_seq_cst)) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        if (stop_.load()) return;
        spin_start = std::chrono::steady_clock::now();
      }
      seen = gen_of(v);
      int64_t p;
      while (claim(&p)) {
        // The claimed chunk keeps the job alive, so task_ is this job's task.
        (*task_)(p);
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  const std::chrono::steady_clock::duration spin_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> size_{1};
  const std::function<void(int64_t)>* task_ = nullptr;
  uint64_t gen_ = 0;  // caller side only
};

int default_threads() {
  if (const char* env = std::getenv("HAFIF_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

// The pool is one per process, but every Node worker_thread that imports hafif calls into it:
// callers take turns, one job at a time (a nested parallel_for runs inline and never takes it).
std::mutex& pool_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  std::lock_guard<std::mutex> lk(pool_mutex());
  pool().resize(std::max(1, n));
}

// True on a thread that is running a parallel_for chunk: a nested parallel_for (e.g. a kernel
// calling sgemm inside its own loop) then runs inline instead of re-entering the busy pool.
thread_local bool t_in_parallel = false;

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = num_threads();
  const int64_t most = grain > 0 ? n / grain : n;
  if (threads <= 1 || most <= 1 || t_in_parallel) {
    fn(0, n);
    return;
  }
  // A few chunks per thread, so the work rebalances when one thread starts late or runs slow.
  const int64_t parts = std::min({most, int64_t{4} * threads, Pool::kMaxParts});
  // A chunk's exception (std::bad_alloc, a kernel's check) must not escape on a worker thread
  // (std::terminate) nor unwind the caller while workers still run this stack-held task: the
  // first one is kept, the chunks not yet started are skipped, and it is rethrown here once every
  // chunk has finished.
  std::exception_ptr error;
  std::mutex error_mu;
  std::atomic<bool> failed{false};
  std::function<void(int64_t)> task = [&](int64_t id) {
    if (failed.load(std::memory_order_relaxed)) return;
    const int64_t begin = n * id / parts, end = n * (id + 1) / parts;
    t_in_parallel = true;
    try {
      if (begin < end) fn(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu);
      if (!error) error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
    t_in_parallel = false;
  };
  {
    std::lock_guard<std::mutex> lk(pool_mutex());
    pool().run(parts, task);
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace hafif
