# test_poller.rb -- the scheduled/retry poller as the README promises it, against
# Sidekiq's rules (sidekiq-protocol.md 6.2, 7.6): exactly one process moves each due
# job; the first poll 10 + rand(5) s after start; then process count x the average
# interval, randomised to 0.5-1.5 of it under 10 processes; dead processes cleaned
# out of `processes` once after the first wait, under the process_cleanup lock. The
# intervals are the ones the process chose and logs at -v, not measured times.
require_relative 'helper'
require 'tmpdir'

class PollerTest < ScottyTest
  # A live-looking process of another host: a heartbeat hash with info.
  def fake_process(n)
    id = "otherhost:#{n}:#{format('%012x', n)}"
    @redis.sadd('processes', id)
    @redis.hset(id, 'info', JSON.generate('hostname' => 'otherhost', 'pid' => n, 'identity' => id),
                'beat', Time.now.to_f.to_s, 'busy', '0', 'quiet', 'false')
    @redis.expire(id, 600)
    id
  end

  def config(dir, average)
    path = File.join(dir, 'sidekiq.yml')
    File.write(path, ":concurrency: 2\n:queues:\n  - default\n:average_scheduled_poll_interval: #{average}\n")
    path
  end

  def next_polls(s)
    s.log.scan(/poller: next poll in ([\d.]+) s \((\d+) process\(es\) x ([\d.]+) s/)
     .map { |t, n, avg| [t.to_f, n.to_i, avg.to_f] }
  end

  def test_first_poll_and_randomised_interval_by_process_count
    3.times { |i| fake_process(i + 1) }
    ghost = 'ghosthost:9:000000000009' # in the registry, its heartbeat long gone
    @redis.sadd('processes', ghost)
    Dir.mktmpdir('scotty-poller') do |dir|
      s = start_scotty('-v', '-C', config(dir, 1))
      # the poller starts beside the heartbeat, which is all start_scotty waits for
      wait_until(10, -> { "the poller's first line\n#{s.log}" }) { s.log.match?(/poller: first poll in/) }
      first = s.log[/poller: first poll in ([\d.]+) s/, 1]
      assert_includes 10.0...15.0, first.to_f, 'first poll after 10 + rand(5) s'
      wait_until(60, "six polls after the first\n#{s.log}") { next_polls(s).size >= 6 }
      polls = next_polls(s)
      polls.each do |t, n, avg|
        assert_equal 4, n, 'scotty and the three live ones (the ghost was cleaned out)'
        assert_equal 1.0, avg
        assert_includes (0.5 * n * avg)..(1.5 * n * avg), t, 'count x average, randomised to 0.5..1.5'
      end
      assert_operator polls.map(&:first).uniq.size, :>, 1, "randomised: #{polls.map(&:first)}"
      refute @redis.sismember('processes', ghost), 'the dead process is cleaned out after the first wait'
      assert_match(/removed 1 dead processes from the registry/, s.log)
      ttl = @redis.ttl('process_cleanup')
      assert_includes 1..60, ttl, 'cleanup took the process_cleanup lock (SET NX EX 60)'
    end
  end

  # Sidekiq's default average: 5 s per process.
  def test_default_average_is_five_seconds_per_process
    s = start_scotty('-v')
    wait_until(40, "the first poll\n#{s.log}") { next_polls(s).any? }
    t, n, avg = next_polls(s).first
    assert_equal [1, 5.0], [n, avg]
    assert_includes 2.5..7.5, t
  end

  # Someone else (a Web UI page load, another process) holds process_cleanup: the
  # ghost stays.
  def test_cleanup_skipped_under_another_holders_lock
    ghost = 'ghosthost:9:000000000009'
    @redis.sadd('processes', ghost)
    @redis.set('process_cleanup', '1', ex: 600)
    s = start_scotty('-v', '--poll-interval', '1')
    wait_until(30, "a few polls\n#{s.log}") { s.log.scan(/poller: next poll in/).size >= 3 }
    assert @redis.sismember('processes', ghost), 'no cleanup under another holder'
    refute_match(/removed \d+ dead processes/, s.log)
  end

  # Several processes polling the same sets: each due job is moved exactly once and
  # none is lost (Sidekiq pops then pushes; scotty moves in one script).
  def test_each_due_job_moved_once_by_several_pollers
    now = Time.now.to_f
    300.times do |i|
      job = { 'class' => 'Scotty::Diag::Mark', 'args' => ['ran', "s#{i}", 0], 'queue' => 'default',
              'jid' => format('%024x', i), 'retry' => true, 'created_at' => now }
      @redis.zadd('schedule', now - 1 - i * 0.001, JSON.generate(job))
    end
    100.times do |i|
      job = { 'class' => 'Scotty::Diag::Mark', 'args' => ['ran', "r#{i}", 0], 'queue' => 'default',
              'jid' => format('%024x', 1000 + i), 'retry' => true, 'retry_count' => 0, 'created_at' => now,
              'failed_at' => now, 'error_message' => 'x', 'error_class' => 'RuntimeError' }
      @redis.zadd('retry', now - 1 - i * 0.001, JSON.generate(job))
    end
    procs = Array.new(3) { start_scotty('-c', '4', '--poll-interval', '1') }
    wait_until(60, 'every due job to run') { @redis.llen('ran') >= 400 }
    procs.each { |p| wait_for_beats(p, 1) }
    ran = @redis.lrange('ran', 0, -1)
    assert_equal 400, ran.size, "each due job ran once: #{ran.tally.select { |_, n| n > 1 }.keys.first(5)}"
    assert_equal 400, ran.uniq.size
    assert_equal 0, @redis.zcard('schedule')
    assert_equal 0, @redis.zcard('retry')
    assert_equal 0, @redis.llen('queue:default')
  end
end
