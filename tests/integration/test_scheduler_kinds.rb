# test_scheduler_kinds.rb -- the README's scheduler promises beyond cron and every:
# `interval` (from the last recorded firing), `at` and `in` (once), `:missed:` skip
# and once for a firing found late, `:max_clock_skew:`, `enabled: false`, and a
# quiet process scheduling nothing. Time is not waited out: a firing in the past is
# an `at` time already gone, or an anchor or last firing written into Redis.
require_relative 'helper'
require 'tmpdir'

class SchedulerKindsTest < ScottyTest
  def setup
    super
    @dir = Dir.mktmpdir('scotty-sched-kinds')
  end

  def teardown
    super
    FileUtils.rm_rf(@dir)
  end

  def utc(t)
    Time.at(t).utc.strftime('%Y-%m-%d %H:%M:%S')
  end

  def mark(name)
    "class: Scotty::Diag::Mark\n  queue: default\n  args: ['#{name}-runs', 'x', 0]\n"
  end

  def fired(name)
    @redis.zrange("sidekiq-scheduler:pushed:#{name}", 0, -1).map(&:to_i)
  end

  # Writes the schedule with extra top-level :scheduler: keys (text with the keys at
  # column 0) and starts scotty on it.
  def start_with(schedule, scheduler_keys = '')
    path = write_schedule_config(@dir, schedule)
    text = File.read(path)
    File.write(path, text.sub(":scheduler:\n", ":scheduler:\n#{scheduler_keys.gsub(/^(?=.)/, '  ')}"))
    start_scotty('-C', path)
  end

  def test_interval_at_and_in
    @redis.zadd('sidekiq-scheduler:pushed:every_two', Time.now.to_i - 1, (Time.now.to_i - 1).to_s)
    at = Time.now.to_i + 3
    s = start_with(<<~YAML)
      every_two:
        interval: '2s'
        #{mark('interval')}
      once_at:
        at: '#{utc(at)}'
        #{mark('at')}
      once_in:
        in: '3s'
        #{mark('in')}
      never:
        cron: '* * * * * *'
        enabled: false
        #{mark('never')}
    YAML
    started = Time.now.to_i
    wait_until(30, "four interval firings\n#{s.log}") { fired('every_two').size >= 5 }
    wait_until(10, 'the at and in firings') { fired('once_at').size == 1 && fired('once_in').size == 1 }
    wait_for_beats(s)
    interval = fired('every_two')
    assert_equal [2], interval.each_cons(2).map { |a, b| b - a }.uniq,
                 "interval: each firing 2 s after the last recorded one (the first after the preset one): #{interval}"
    assert_equal [at], fired('once_at'), 'at: once, at its time'
    assert_equal 1, fired('once_in').size, 'in: once'
    assert_includes (started + 2)..(started + 5), fired('once_in')[0], 'in: 3 s after the schedule was first seen'
    assert_equal 1, @redis.llen('at-runs')
    assert_equal 1, @redis.llen('in-runs')
    assert_equal interval.size - 1, @redis.llen('interval-runs'), 'every recorded firing but the preset one ran'
    assert_empty fired('never'), 'enabled: false never fires'
    assert_equal 0, @redis.llen('never-runs')
  end

  def late_schedule(at)
    <<~YAML
      gone:
        at: '#{utc(at)}'
        #{mark('gone')}
      late_in:
        in: '10m'
        #{mark('late_in')}
    YAML
  end

  # An `in` whose anchor (stored by the first process) is 5 minutes old, and an `at`
  # 5 minutes ago: both found late by more than the default 60 s skew.
  def seed_late
    @redis.set('scotty:scheduler:anchor:late_in', (Time.now.to_i - 300).to_s)
    Time.now.to_i - 300
  end

  def test_missed_skip_is_the_default
    at = seed_late
    s = start_with(late_schedule(at))
    wait_until(20, "both missed firings logged\n#{s.log}") { s.log.scan(/firing due at .* was missed/).size == 2 }
    wait_for_beats(s)
    assert_empty fired('gone')
    assert_empty fired('late_in')
    assert_equal 0, @redis.llen('queue:default') + @redis.llen('gone-runs') + @redis.llen('late_in-runs')
  end

  def test_missed_once_runs_the_late_firing_once
    at = seed_late
    s = start_with(late_schedule(at), ":missed: once\n")
    wait_until(20, "both late firings enqueued\n#{s.log}") { fired('gone').size == 1 && fired('late_in').size == 1 }
    wait_for_beats(s)
    assert_equal [at], fired('gone')
    assert_equal 1, @redis.llen('gone-runs')
    assert_equal 1, @redis.llen('late_in-runs')
    assert_equal 2, s.log.scan(/\(late: catching up once\)/).size
  end

  # Within :max_clock_skew: a firing 5 minutes old is on time, not missed.
  def test_max_clock_skew_widens_on_time
    at = seed_late
    s = start_with(late_schedule(at), ":max_clock_skew: 600\n")
    wait_until(20, "both firings enqueued\n#{s.log}") { fired('gone').size == 1 && fired('late_in').size == 1 }
    refute_match(/was missed|catching up/, s.log)
  end

  def test_a_quiet_process_stops_scheduling
    s = start_with(<<~YAML)
      each_second:
        cron: '* * * * * *'
        #{mark('tick')}
    YAML
    wait_until(20, "a firing\n#{s.log}") { fired('each_second').size >= 2 }
    s.signal('TSTP')
    wait_for_quiet(s)
    before = fired('each_second').size
    wait_for_beats(s)
    assert_equal before, fired('each_second').size, 'no firing after the process went quiet'
  end
end
