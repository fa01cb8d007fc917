// Run independent work items (queries) on an OpenMP team with a given thread count.
#pragma once

#include <omp.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>

namespace fanns {

/// Call `work(context, i)` for i in [0, count) on `threads` threads. Each thread
/// builds one context with `make_context()` and reuses it for all its items.
/// Items are independent, so results do not depend on the thread count. The
/// first exception thrown by any item is rethrown after the team finishes.
template <class MakeContext, class Work>
void parallel_for_each(size_t count, int threads, MakeContext make_context, Work work) {
  if (threads < 1) threads = 1;
  std::exception_ptr error;
  std::mutex error_lock;
#pragma omp parallel num_threads(threads)
  {
    try {
      auto context = make_context();
#pragma omp for schedule(dynamic, 1)
      for (long long i = 0; i < static_cast<long long>(count); ++i) {
        try {
          work(context, static_cast<size_t>(i));
        } catch (...) {
          std::lock_guard<std::mutex> guard(error_lock);
          if (!error) error = std::current_exception();
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> guard(error_lock);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

/// This thread's `T`, made on first use and kept for the thread's life, so scratch buffers keep
/// their capacity from one call to the next (OpenMP reuses its worker threads).
template <class T>
T& thread_scratch() {
  thread_local std::unique_ptr<T> scratch;
  if (!scratch) scratch = std::make_unique<T>();
  return *scratch;
}

}  // namespace fanns
