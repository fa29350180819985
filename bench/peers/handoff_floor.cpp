// handoff_floor: the least a server with an event loop and a worker pool can
// spend to complete a request from the pool, for the benchmark's "slow work
// off the loop" rows: the floor fcgid's pool-completed request is compared
// with.
//
// No network and no FastCGI: JOBS jobs circulate. The loop (a
// boost::asio::io_context run by one thread) hands each job to a pool of
// THREADS threads through a std::mutex + std::condition_variable + std::deque
// queue; a pool thread sleeps SLEEP_US (the slow work: a database call), then
// boost::asio::post()s the completion back to the loop, whose handler counts
// it and hands the job to the pool again at once. What one job costs here is
// the sleep's timer and context switches plus one handoff each way, which
// every pool-completed request in fcgid pays too.
//
//   handoff_floor [--threads 32] [--jobs 256] [--sleep-us 1000] [--seconds 8] [--warmup 2]
//
// After WARMUP seconds it measures SECONDS: jobs completed (by the loop), and
// the process's CPU time (getrusage, all threads) per job; the loop thread's
// own share too. A few lines for people, then one RESULT line of key=value
// for scripts, as fcgi-bench prints. Exit status: 0 when jobs completed, 1
// when none did, 2 for a wrong command line.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace asio = boost::asio;

namespace {

struct options {
    int threads = 32;
    int jobs = 256;
    int sleep_us = 1000;
    double seconds = 8;
    double warmup = 2;
};

constexpr const char* k_usage =
    "usage: handoff_floor [--threads N] [--jobs N] [--sleep-us N] [--seconds S] [--warmup S]\n";

[[noreturn]] void usage_error(const std::string& what) {
    std::fprintf(stderr, "handoff_floor: %s\n%s", what.c_str(), k_usage);
    std::exit(2);
}

double parse_number(const char* name, const char* text, double low, double high) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(value >= low && value <= high)) {
        usage_error(std::string("bad value for ") + name + ": '" + text + "'");
    }
    return value;
}

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; i += 2) {
        const char* name = argv[i];
        if (std::strcmp(name, "-h") == 0 || std::strcmp(name, "--help") == 0) {
            std::fputs(k_usage, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
        const char* value = argv[i + 1];
        if (std::strcmp(name, "--threads") == 0) o.threads = static_cast<int>(parse_number(name, value, 1, 4096));
        else if (std::strcmp(name, "--jobs") == 0) o.jobs = static_cast<int>(parse_number(name, value, 1, 1 << 20));
        else if (std::strcmp(name, "--sleep-us") == 0) o.sleep_us = static_cast<int>(parse_number(name, value, 0, 1e7));
        else if (std::strcmp(name, "--seconds") == 0) o.seconds = parse_number(name, value, 0.1, 3600);
        else if (std::strcmp(name, "--warmup") == 0) o.warmup = parse_number(name, value, 0, 3600);
        else usage_error(std::string("unknown option ") + name);
    }
    return o;
}

// User and system CPU time, in microseconds.
struct cpu_time {
    double user_us = 0;
    double system_us = 0;
};

cpu_time cpu_of(int who) {
    rusage usage{};
    getrusage(who, &usage);
    const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return {us(usage.ru_utime), us(usage.ru_stime)};
}

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// The pool: THREADS threads taking jobs off one queue; each sleeps, then
// posts the job's completion to the loop.
class pool {
public:
    pool(asio::io_context& loop, int threads, std::chrono::microseconds work) : loop_(loop), work_(work) {
        threads_.reserve(static_cast<std::size_t>(threads));
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
    }

    ~pool() { stop(); }

    // From the loop: queue job for a pool thread.
    void submit(int job) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            queue_.push_back(job);
        }
        ready_.notify_one();
    }

    void stop() {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (std::thread& t : threads_) {
            if (t.joinable()) t.join();
        }
    }

    // Jobs the loop completed so far; read from any thread.
    std::uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }

private:
    void run() {
        for (;;) {
            int job = 0;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                job = queue_.front();
                queue_.pop_front();
            }
            if (work_.count() > 0) std::this_thread::sleep_for(work_);
            // The completion runs on the loop, which hands the job out again.
            asio::post(loop_, [this, job] {
                completed_.fetch_add(1, std::memory_order_relaxed);
                submit(job);
            });
        }
    }

    asio::io_context& loop_;
    const std::chrono::microseconds work_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<int> queue_;
    bool stopping_ = false;
    std::atomic<std::uint64_t> completed_{0};
    std::vector<std::thread> threads_;
};

// One sample of what the measured window needs.
struct sample {
    std::chrono::steady_clock::time_point at;
    std::uint64_t completed = 0;
    cpu_time process;
    cpu_time loop;
};

// Taken on the loop thread itself (a handler posted to it), so that its own
// CPU time (RUSAGE_THREAD) can be read; the other figures at the same moment.
sample take_sample(asio::io_context& loop, const pool& workers) {
    std::promise<sample> result;
    asio::post(loop, [&] {
        sample s;
        s.loop = cpu_of(RUSAGE_THREAD);
        s.process = cpu_of(RUSAGE_SELF);
        s.completed = workers.completed();
        s.at = std::chrono::steady_clock::now();
        result.set_value(s);
    });
    return result.get_future().get();
}

std::chrono::duration<double> seconds(double s) { return std::chrono::duration<double>(s); }

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv);

    asio::io_context loop(1);
    auto keep_running = asio::make_work_guard(loop);
    std::thread loop_thread([&loop] { loop.run(); });
    pool workers(loop, o.threads, std::chrono::microseconds(o.sleep_us));

    // The loop hands out every job first, as it would for requests arriving.
    asio::post(loop, [&] {
        for (int job = 0; job < o.jobs; ++job) workers.submit(job);
    });

    std::this_thread::sleep_for(seconds(o.warmup));
    const sample begin = take_sample(loop, workers);
    std::this_thread::sleep_for(seconds(o.seconds));
    const sample end = take_sample(loop, workers);

    workers.stop();
    keep_running.reset();
    loop.stop();
    loop_thread.join();

    const double elapsed = std::chrono::duration<double>(end.at - begin.at).count();
    const std::uint64_t jobs = end.completed - begin.completed;
    const double per_job = jobs > 0 ? 1.0 / static_cast<double>(jobs) : 0.0;
    const double user = (end.process.user_us - begin.process.user_us) * per_job;
    const double system = (end.process.system_us - begin.process.system_us) * per_job;
    const double loop_cpu =
        (end.loop.user_us - begin.loop.user_us + end.loop.system_us - begin.loop.system_us) * per_job;
    const double rate = elapsed > 0 ? static_cast<double>(jobs) / elapsed : 0.0;
    const double ideal = o.sleep_us > 0 ? o.threads * 1e6 / o.sleep_us : 0.0;

    std::printf("handoff_floor %d threads, %d jobs in flight, %d us of sleep per job\n", o.threads, o.jobs,
                o.sleep_us);
    std::printf("jobs         %llu completed in %.2f s: %.1f jobs/s (ideal %.0f)\n",
                static_cast<unsigned long long>(jobs), elapsed, rate, ideal);
    std::printf("cpu          %.2f us per job (user %.2f, system %.2f), of which the loop thread %.2f\n",
                user + system, user, system, loop_cpu);
    std::printf("RESULT jobs_per_s=%.1f cpu_us_per_job=%.2f user_us_per_job=%.2f sys_us_per_job=%.2f "
                "loop_cpu_us_per_job=%.2f jobs=%llu seconds=%.3f threads=%d in_flight=%d sleep_us=%d "
                "max_rss_kib=%ld\n",
                rate, user + system, user, system, loop_cpu, static_cast<unsigned long long>(jobs), elapsed,
                o.threads, o.jobs, o.sleep_us, peak_rss_kib());
    return jobs > 0 ? 0 : 1;
}
