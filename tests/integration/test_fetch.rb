# test_fetch.rb -- reliable fetch as the README describes it: jobs held ahead per
# queue (--prefetch N, default -c) in the private list queue:scotty|IDENTITY|NAME
# beside the running ones, and on an empty queue the fetcher falls back to a
# blocking BLMOVE into that list (seen with Redis's MONITOR), which takes a job
# pushed while it waits.
require_relative 'helper'
require 'redis'

class FetchTest < ScottyTest
  def private_len(s)
    @redis.llen("queue:scotty|#{identity_of(s)}|default")
  end

  # The private list reaches running + prefetched jobs and never holds more.
  def assert_holds(s, concurrency, prefetch)
    bound = concurrency + prefetch
    seen = []
    wait_until(20, "#{bound} jobs in the private list\n#{s.log}") { (seen << private_len(s)).last == bound }
    wait_for_beats(s, 1)
    seen << private_len(s)
    assert_operator seen.max, :<=, bound, "at most #{concurrency} running + #{prefetch} prefetched: #{seen.uniq}"
  end

  def test_prefetch_bounds_what_is_held
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Sleep', 'args' => Array.new(12) { [30_000] })
    s = start_scotty('-c', '1', '--prefetch', '3', '-t', '1')
    assert_holds(s, 1, 3)
    assert_equal 8, @redis.llen('queue:default'), 'the rest wait in the public queue'
  end

  def test_prefetch_defaults_to_concurrency
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Sleep', 'args' => Array.new(12) { [30_000] })
    s = start_scotty('-c', '2', '-t', '1')
    assert_holds(s, 2, 2)
  end

  def test_empty_queue_falls_back_to_blmove
    monitor = Redis.new(url: @redis_server.url)
    seen = Queue.new
    watcher = Thread.new do
      monitor.monitor { |line| seen << line if line.match?(/"blmove"/i) }
    rescue Redis::BaseConnectionError, IOError
      nil
    end
    s = start_scotty('-c', '1')
    id = identity_of(s)
    line = Timeout.timeout(30) { seen.pop }
    assert_match(/"blmove" "queue:default" "queue:scotty\|#{Regexp.escape(id)}\|default" "right" "left" "2"/i, line,
                 'a 2 s BLMOVE from the public queue into the private list')
    push_marks('blocked', 1)
    wait_until(10, "the job pushed during the BLMOVE to run\n#{s.log}") { @redis.llen('blocked') == 1 }
  ensure
    watcher&.kill
    monitor&.close
  end
end
