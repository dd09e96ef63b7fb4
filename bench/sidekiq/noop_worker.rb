# The Sidekiq side of the bench's drain: `sidekiq -r bench/sidekiq/noop_worker.rb -c 25`, on the
# bench's private redis-server (REDIS_URL). One no-op job class, whose performs are counted and
# reported on stdout in the bench's line protocol (see bench/processes.ts):
#   BENCH ready pid=<pid>                 on the first heartbeat (the launcher is running)
#   BENCH performed=<n> last=<epoch ms>   at most every 25 ms, when n changed
# Per-job log lines are dropped (logger at WARN), as the bench does for Verk's start/done lines.
require "sidekiq"

# redis-rb 4.8 warns on every SADD Sidekiq sends (its return type changes in 5.0): not the bench's business.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

Sidekiq.configure_server do |config|
  config.logger.level = Logger::WARN
  config.on(:heartbeat) do
    $stdout.write("BENCH ready pid=#{Process.pid}\n")
    $stdout.flush
  end
end

module BenchCounter
  @lock = Mutex.new
  @performed = 0
  @last = 0.0

  def self.hit
    now = Process.clock_gettime(Process::CLOCK_REALTIME, :float_millisecond)
    @lock.synchronize do
      @performed += 1
      @last = now
    end
  end

  def self.snapshot
    @lock.synchronize { [@performed, @last] }
  end
end

parent = Process.ppid
Thread.new do
  reported = 0
  loop do
    sleep 0.025
    performed, last = BenchCounter.snapshot
    if performed != reported
      reported = performed
      $stdout.write(format("BENCH performed=%d last=%.3f\n", performed, last))
      $stdout.flush
    end
    # Should the bench die without stopping us, do not linger.
    Process.kill("KILL", Process.pid) if Process.ppid != parent
  end
end

class NoOp
  include Sidekiq::Worker

  def perform
    BenchCounter.hit
  end
end
