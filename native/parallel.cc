#include "parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace hafif {
namespace {

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    done_ = false;
    // New workers must not mistake the last finished generation for new work.
    const uint64_t gen = generation_;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, gen] { loop(i, gen); });
  }

  void run(int parts, const std::function<void(int)>& task) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      task_ = &task;
      parts_ = parts;
      pending_ = parts - 1;
      ++generation_;
    }
    cv_.notify_all();
    task(0);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void loop(int id, uint64_t seen) {
    for (;;) {
      const std::function<void(int)>* task;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return done_ || generation_ != seen; });
        if (done_) return;
        seen = generation_;
        if (id >= parts_) continue;
        task = task_;
      }
      (*task)(id);
      std::lock_guard<std::mutex> lk(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* task_ = nullptr;
  int parts_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool done_ = false;
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

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(std::max(1, n)); }

// True on a thread that is running a parallel_for chunk: a nested parallel_for (e.g. a kernel
// calling sgemm inside its own loop) then runs inline instead of re-entering the busy pool.
thread_local bool t_in_parallel = false;

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int threads = num_threads();
  int64_t parts = std::min<int64_t>(threads, grain > 0 ? n / grain : n);
  if (parts <= 1 || t_in_parallel) {
    fn(0, n);
    return;
  }
  std::function<void(int)> task = [&](int id) {
    int64_t begin = n * id / parts, end = n * (id + 1) / parts;
    t_in_parallel = true;
    if (begin < end) fn(begin, end);
    t_in_parallel = false;
  };
  pool().run(static_cast<int>(parts), task);
}

}  // namespace hafif
