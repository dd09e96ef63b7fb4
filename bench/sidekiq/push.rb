# The Sidekiq side of the bench's enqueue: `ruby bench/sidekiq/push.rb <jobs>` pushes that many
# no-op jobs (class NoOp, no args, queue "default") to REDIS_URL with Sidekiq's own client,
# Sidekiq::Client.push_bulk, 1,000 jobs per call, and prints how long the pushes took:
#   BENCH pushed=<jobs> seconds=<float>
require "sidekiq"

# redis-rb 4.8 warns on every SADD Sidekiq sends (its return type changes in 5.0): not the bench's business.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

jobs = Integer(ARGV.fetch(0))
batch = 1_000
Sidekiq.redis(&:ping) # connect before the clock starts
began = Process.clock_gettime(Process::CLOCK_MONOTONIC)
pushed = 0
while pushed < jobs
  size = [batch, jobs - pushed].min
  jids = Sidekiq::Client.push_bulk("class" => "NoOp", "args" => Array.new(size) { [] }, "queue" => "default")
  raise "push_bulk pushed #{jids.size} of #{size} jobs" unless jids.size == size
  pushed += size
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - began
$stdout.write(format("BENCH pushed=%d seconds=%.6f\n", pushed, elapsed))
