# A Sidekiq (Ruby) worker for the interop test: records the args it received under a Redis key.
require "sidekiq"
require "json"

class RubyWorker
  include Sidekiq::Worker

  def perform(*args)
    Sidekiq.redis { |redis| redis.rpush("interop:ruby-performed", JSON.generate(args)) }
  end
end

# Records the exact JSON text of its args: big integers must arrive as Ruby wrote them.
class BigNumbers
  include Sidekiq::Worker

  def perform(*args)
    Sidekiq.redis { |redis| redis.rpush("interop:big-performed", JSON.generate(args)) }
  end
end
