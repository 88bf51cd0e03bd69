# test_scheduler.rb -- periodic jobs: cron arithmetic against fugit (what Ruby's
# sidekiq-scheduler uses), and three scotty processes on one schedule enqueueing
# each firing exactly once, also while one of them is killed.
require_relative 'helper'
require 'fugit'
require 'open3'

class SchedulerTest < ScottyTest
  CRONS = ['*/15 3-5 * * 1-5', '0 0 1 * *', '30 2 * * sun', '0 9 * * * Europe/Berlin',
           '5,35 */6 1-7 jan,jul *', '0 12 13 * fri', '*/20 * * * * *', '@daily', '0 0 29 2 *'].freeze

  def test_cron_next_times_match_fugit
    from = 1_790_000_000
    CRONS.each do |line|
      out, st = Open3.capture2e(Harness::SCOTTY, 'cron', line, '6', from.to_s)
      assert st.success?, out
      ours = out.lines.map { |l| l.split.first.to_i }
      cron = Fugit::Cron.parse(line)
      refute_nil cron, line
      t = Time.at(from)
      expected = Array.new(6) { t = cron.next_time(t).to_t; t.to_i }
      assert_equal expected, ours, "next firings of '#{line}'"
    end
  end

  def write_schedule(dir)
    write_schedule_config(dir, <<~YAML)
      every_two_seconds:
        cron: '*/2 * * * * *'
        class: Scotty::Diag::Mark
        args: ['cron-runs', 'tick', 0]
        description: a six-field cron line
      every_three:
        every: ['3s', first_in: '1s']
        class: Scotty::Diag::Mark
        queue: default
        args: ['every-runs', 'tick', 0]
      not_ours:
        every: '1s'
        class: Scotty::Diag::Mark
        queue: elsewhere
        args: ['never', 'x', 0]
    YAML
  end

  def firings(name)
    @redis.zrange("sidekiq-scheduler:pushed:#{name}", 0, -1).map(&:to_i)
  end

  def test_three_processes_fire_each_time_exactly_once
    dir = Dir.mktmpdir('scotty-sched')
    path = write_schedule(dir)
    procs = Array.new(3) { start_scotty('-C', path) }
    sleep 7
    procs[1].kill9
    sleep 7
    procs.each { |p| p.stop if p.alive? }

    cron = firings('every_two_seconds')
    every = firings('every_three')
    assert_operator cron.size, :>=, 5, "cron firings: #{cron}"
    assert_operator every.size, :>=, 3, "every firings: #{every}"
    assert_equal [2], cron.each_cons(2).map { |a, b| b - a }.uniq, "one firing per 2 s, none skipped: #{cron}"
    assert_equal [3], every.each_cons(2).map { |a, b| b - a }.uniq, "one firing per 3 s: #{every}"
    assert cron.all?(&:even?), 'cron firings fall on even seconds'
    wait_until(10, 'the fired jobs to run') do
      @redis.llen('cron-runs') == cron.size && @redis.llen('every-runs') == every.size
    end
    assert_equal 0, @redis.llen('never'), 'schedules for queues no process listens to never fire'
    assert_empty firings('not_ours')
    assert @redis.hexists('sidekiq-scheduler:last_times', 'every_two_seconds')
    assert_match(/\A\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\z/,
                 @redis.hget('sidekiq-scheduler:next_times', 'every_three'))
    logs = procs.map(&:log).join
    assert_operator logs.scan(/schedule every_two_seconds: enqueued/).size, :==, cron.size,
                    'exactly one process logged each firing'
  ensure
    FileUtils.rm_rf(dir) if dir
  end
end
