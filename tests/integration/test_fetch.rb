# test_fetch.rb -- reliable fetch as the README describes it: beside the running jobs, a
# queue holds at most its reserve (--prefetch N, default -c/8, at least 1) in the
# private list queue:scotty|IDENTITY|NAME while every thread is busy, and refills when
# half of it is gone; on an empty queue the fetcher falls back to a blocking BLMOVE
# into that list (seen with Redis's MONITOR), which takes a job pushed while it waits.
require_relative 'helper'
require 'redis'

class FetchTest < ScottyTest
  def private_len(s)
    @redis.llen("queue:scotty|#{identity_of(s)}|default")
  end

  # With every thread on a long job, the private list holds the running jobs plus at
  # least half the reserve, and never more than the reserve.
  def assert_holds(s, concurrency, reserve)
    low = concurrency + (reserve + 1) / 2
    bound = concurrency + reserve
    seen = []
    wait_until(20, -> { "#{low} jobs in the private list (saw #{seen.uniq})\n#{s.log}" }) do
      (seen << private_len(s)).last >= low
    end
    wait_for_beats(s, 1)
    seen << private_len(s)
    assert_operator seen.max, :<=, bound, "at most #{concurrency} running + #{reserve} held: #{seen.uniq}"
    assert_operator seen.last, :>=, low, 'still held after a heartbeat'
  end

  def test_prefetch_bounds_what_is_held
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Sleep', 'args' => Array.new(12) { [30_000] })
    s = start_scotty('-c', '1', '--prefetch', '3', '-t', '1')
    assert_holds(s, 1, 3)
    assert_operator @redis.llen('queue:default'), :>=, 8, 'the rest wait in the public queue'
  end

  def test_default_reserve_is_an_eighth_of_concurrency
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Sleep', 'args' => Array.new(40) { [30_000] })
    s = start_scotty('-c', '16', '-t', '1')
    assert_holds(s, 16, 2)
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
